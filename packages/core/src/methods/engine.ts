/**
 * Where gradients come from. A GradientEngine is prepared once per model,
 * output, attributed tensors and target kind, holds its session, and answers
 * "for these rows and targets, the selected output value per row and its
 * gradient with respect to the attributed tensors", in batches.
 *
 * Two sources share the interface: the graph (a backward subgraph appended by
 * buildGradientModel, one session run per batch) and central finite
 * differences through the forward model, used when the model has an op with
 * no gradient rule (an LSTM, a tree ensemble, a contrib op) or when asked.
 */
import type { ModelProto } from '../onnx/types';
import { DataType } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { dataTypeName } from '../onnx/tensor';
import type { Runtime, Session, Tensor } from '../runtime';
import { buildGradientModel, cutGraph, MissingGradientError, type Target, type GradientModel } from '../grad/builder';
import { GradientError } from '../grad/emitter';
import { gradientCoverage, finiteDifferenceReason, piecewiseConstantReason } from '../grad/coverage';
import { probeModel, type ShapeTable } from '../grad/shapes';
import { lowerAndCheck, type CheckedLowering } from '../grad/lower/check';
import { ruleSet, ruleSetName, type RuleSetSpec } from '../grad/ruleSets';
import { makeBatchable, type BatchableModel } from '../grad/batch';
import { rowSize, asFloat32 } from './tensors';
import { throwIfAborted, type AbortSignalLike } from './progress';

export type GradientMode = 'auto' | 'graph' | 'fd';
/** 'none': a forward-only engine (the perturbation methods), which never builds or estimates a gradient. */
export type GradientSource = 'graph' | 'fd' | 'none';

export interface EngineOptions {
  /** Model output to explain (see explainedOutput). */
  output: string;
  /** Graph inputs to attribute; with `at`, ignored (the layer tensor is attributed). */
  wrt: string[];
  /** An intermediate tensor to attribute at (layer attribution): the model is cut there. */
  at?: string;
  gradients?: GradientMode;
  /**
   * Forward only: the model's own output, no gradient graph, no finite
   * differences, and so no refusal of piecewise-constant models (the
   * perturbation methods and top-class lookups run through it).
   */
  forwardOnly?: boolean;
  /**
   * Backward rules changed for a method defined that way (Guided Backprop,
   * Deconvolution: grad/ruleSets.ts). Graph gradients only: finite
   * differences know nothing of backward rules.
   */
  rules?: RuleSetSpec;
  /** Kind of target: the rewritten model differs for class, index and sum targets. */
  target: Target;
}

export interface EngineResult {
  /** The selected output value per row. */
  selected: Float64Array;
  /** Gradient per attributed tensor, rows concatenated (absent when not asked for). */
  grads?: Record<string, Float32Array>;
  /** The explained output itself, for top-class lookups. */
  output: Tensor;
}

const EPS32 = 1.1920928955078125e-7;

/**
 * How many ulps of the output a central difference's rounding noise is
 * taken to be (see finiteDifferences): a model's float32 output carries a
 * few ulps of its own, and each of the two evaluations its share.
 */
const FD_NOISE_ULPS = 32;

/** An element's ladder of finite-difference steps, smallest first (see finiteDifferences): h its own step, rowStep the row's. */
const fdLadder = (h: number, rowStep: number) => [h / 4, h, Math.max(4 * h, rowStep)];

/** Model evaluations finite differences take per attributed element and row: a central pair at each step of the ladder. */
export const FD_EVALUATIONS_PER_ELEMENT = 2 * fdLadder(1, 1).length;


/**
 * What every engine of a model shares, found once from a sample: the model
 * made batchable where it can be, and the static shape of every tensor.
 */
export interface PreparedModel {
  batch: BatchableModel;
  shapes: ShapeTable;
  /** Ops without a gradient rule lowered to standard ops (grad/lower), checked against the model. */
  lowering: CheckedLowering;
}

/** `fixed`: inputs the same in every row (no batch axis of their own), neither varied nor tiled. */
export async function prepareModel(runtime: Runtime, model: ModelProto, sample: Record<string, Tensor>, fixed: string[] = []): Promise<PreparedModel> {
  const rowInputs = Object.keys(sample).filter((k) => !fixed.includes(k));
  const batch = await makeBatchable(runtime, model, sample, rowInputs);
  const batchInputs = batch.batchable ? rowInputs : [];
  const { shapes, outputs } = await probeModel(runtime, batch.model, sample, batchInputs);
  const lowering = await lowerAndCheck(runtime, batch.model, shapes, outputs, sample, batchInputs);
  return { batch, shapes, lowering };
}

interface EngineParts {
  source: GradientSource;
  reason?: string;
  maxRows: number;
  batchable: boolean;
  batchNotes: string[];
  attributed: string[];
  outputName: string;
  session: Session;
  /** The rewritten model's names, for graph gradients. */
  gradientModel?: GradientModel;
  target: Target;
  layerProbe?: Session;
  /** Attributed graph inputs the model declares as float64. */
  doubleInputs: string[];
  at?: string;
  shapes: ShapeTable;
  lowered: string[];
}

export class GradientEngine {
  readonly source: GradientSource;
  /** Why finite differences are used, when they are. */
  readonly reason: string | undefined;
  /** Rows one session run may take (1 when the model could not be made batchable). */
  readonly maxRows: number;
  readonly batchable: boolean;
  readonly batchNotes: string[];
  /** The tensors whose gradients come back: `wrt`, or `[at]`. */
  readonly attributed: string[];
  readonly outputName: string;
  readonly at: string | undefined;
  readonly shapes: ShapeTable;
  /** Ops the gradient graph was built through after lowering them to standard ops, as 'LSTM (LSTM_9)'. */
  readonly lowered: string[];
  private readonly session: Session;
  private readonly targetInput: string | undefined;
  private readonly gradOutputs: Record<string, string>;
  private readonly selectedOutput: string | undefined;
  private readonly target: Target;
  /** A session returning the layer tensor (`at`) for given model inputs. */
  private readonly layerProbe: Session | undefined;
  private readonly doubleInputs: string[];

  private constructor(p: EngineParts) {
    this.source = p.source;
    this.reason = p.reason;
    this.maxRows = p.maxRows;
    this.batchable = p.batchable;
    this.batchNotes = p.batchNotes;
    this.attributed = p.attributed;
    this.outputName = p.outputName;
    this.at = p.at;
    this.shapes = p.shapes;
    this.lowered = p.lowered;
    this.session = p.session;
    this.targetInput = p.gradientModel?.targetInput;
    this.gradOutputs = p.gradientModel?.gradients ?? {};
    this.selectedOutput = p.gradientModel?.selected;
    this.target = p.target;
    this.layerProbe = p.layerProbe;
    this.doubleInputs = p.doubleInputs;
  }

  /** Prepares an engine on a prepared model (see prepareModel). */
  static async create(runtime: Runtime, prepared: PreparedModel, opts: EngineOptions): Promise<GradientEngine> {
    const mode = opts.gradients ?? 'auto';
    const { batch, shapes } = prepared;
    const base = batch.model;
    const outputName = opts.output;
    if (!base.graph!.output!.some((o) => o.name === outputName)) {
      throw new GradientError(`the model has no output '${opts.output}'; its outputs are ${base.graph!.output!.map((o) => o.name).join(', ')}`);
    }
    const notes = batch.batchable ? batch.changes : [`runs one row at a time: ${batch.reason}`];
    let forward = base;
    let layerProbe: Session | undefined;
    const attributed = opts.at ? [opts.at] : opts.wrt;
    if (opts.at) {
      if (!shapes.has(opts.at)) throw new GradientError(`unknown tensor '${opts.at}' for layer attribution: no node of the model produces it`);
      // the methods interpolate and perturb the layer in float32; another type (a float16 copy's) would reach onnxruntime wrong
      const layerType = shapes.get(opts.at)!.type;
      if (layerType !== DataType.FLOAT) throw new Error(`layer attribution at '${opts.at}' needs a float32 tensor; it is ${dataTypeName(layerType)} (attribute the model's inputs, or a float32 copy of the model)`);
      // a session that returns the layer tensor for given inputs
      const probe = cloneModel(base);
      probe.graph!.output = [{ name: opts.at }];
      layerProbe = await runtime.createSession(probe);
      forward = cloneModel(base);
      cutGraph(forward, [opts.at], shapes);
    }
    // a tree ensemble on the way: gradients are zero almost everywhere, by graph or by finite differences
    // one coverage analysis: the refusal here and the fallback reason below read it
    if (opts.forwardOnly) {
      if (opts.at) {
        await layerProbe?.release();
        throw new GradientError('a forward-only engine does not attribute at a layer');
      }
      return new GradientEngine({
        source: 'none',
        maxRows: batch.batchable ? Number.MAX_SAFE_INTEGER : 1,
        batchable: batch.batchable,
        batchNotes: notes,
        attributed,
        outputName,
        session: await runtime.createSession(forward),
        target: opts.target,
        doubleInputs: [],
        shapes,
        lowered: [],
      });
    }
    const coverage = gradientCoverage(forward, { output: outputName, wrt: attributed });
    const piecewise = piecewiseConstantReason(coverage);
    if (piecewise) {
      await layerProbe?.release();
      throw new GradientError(piecewise);
    }
    let gradientModel: GradientModel | undefined;
    let reason: string | undefined;
    // gradients are built on the lowered model when there is one; finite differences run the model itself
    const lowered = prepared.lowering.lowered;
    let gradientBase = forward;
    if (lowered) {
      gradientBase = cloneModel(lowered.model);
      if (opts.at) cutGraph(gradientBase, [opts.at], lowered.shapes);
    }
    const gradientShapes = lowered?.shapes ?? shapes;
    const modified = ruleSetName(opts.rules) !== 'standard' ? ruleSetName(opts.rules) : undefined;
    try {
      if (modified && mode === 'fd') throw new GradientError(`${modified} changes backward rules: it needs graph gradients, not finite differences`);
      if (mode === 'fd') {
        reason = 'finite differences were asked for';
      } else {
        try {
          gradientModel = buildGradientModel(gradientBase, { output: outputName, target: opts.target, wrt: attributed, shapes: gradientShapes, rules: ruleSet(opts.rules) });
        } catch (e) {
          if (!(e instanceof GradientError)) throw e;
          // the reason inspect gives, from the same analysis, when it names one
          const covered = finiteDifferenceReason(coverage);
          const why = [covered ?? (e instanceof MissingGradientError ? e.message : `the gradient graph could not be built: ${e.message}`), ...prepared.lowering.notes].join('; ');
          if (modified) throw new GradientError(`${modified} changes backward rules, so it needs graph gradients, and this model has none: ${why}`);
          if (mode === 'graph') throw prepared.lowering.notes.length ? new GradientError(why) : e;
          reason = why;
        }
      }
      const session = await runtime.createSession(gradientModel ? gradientModel.model : forward);
      return new GradientEngine({
        source: gradientModel ? 'graph' : 'fd',
        reason,
        maxRows: batch.batchable ? Number.MAX_SAFE_INTEGER : 1,
        batchable: batch.batchable,
        batchNotes: notes,
        attributed,
        outputName,
        session,
        gradientModel,
        target: opts.target,
        layerProbe,
        doubleInputs: (forward.graph!.input ?? []).filter((i) => attributed.includes(i.name!) && i.type?.tensorType?.elemType === DataType.DOUBLE).map((i) => i.name!),
        at: opts.at,
        shapes: gradientModel ? gradientShapes : shapes,
        lowered: gradientModel && lowered ? lowered.ops : [],
      });
    } catch (e) {
      await layerProbe?.release();
      throw e;
    }
  }

  /**
   * A default for rows per session run: as many as fit about 64 MB of
   * activations (16M floats), counted from the probed shapes, between 1 and
   * 64. Measured on ResNet-18, MobileNetV2 and a transformer encoder
   * (bench/results): past the cache, bigger batches get slower per row.
   */
  suggestedBatchSize(): number {
    let perRow = 0;
    for (const v of this.shapes.values()) {
      const lead = v.dims[0];
      if (typeof lead !== 'string') continue;
      const k = lead === 'N' ? 1 : Number(lead.replace('N*', '')) || 1;
      perRow += k * v.dims.slice(1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    }
    if (!perRow) return Math.min(64, this.maxRows);
    return Math.max(1, Math.min(64, this.maxRows, Math.floor(16_000_000 / perRow)));
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.layerProbe?.release();
  }

  /** The value of the layer tensor (`at`) for the given model inputs. */
  async layerValue(inputs: Record<string, Tensor>): Promise<Tensor> {
    if (!this.layerProbe || !this.at) throw new Error('this engine does not attribute at a layer');
    const out = await this.layerProbe.run(inputs);
    return out[this.at];
  }

  /** Selected value per row from the raw output (finite-difference path and checks). */
  private select(output: Tensor, classes: number[] | undefined): Float64Array {
    const rows = output.dims[0];
    const per = rowSize(output);
    const data = asFloat32(output);
    const out = new Float64Array(rows);
    const t = this.target;
    const last = output.dims[output.dims.length - 1];
    for (let r = 0; r < rows; r++) {
      const rowData = data.subarray(r * per, (r + 1) * per);
      let s = 0;
      if (t.kind === 'sum') for (const v of rowData) s += v;
      else if (t.kind === 'class') for (let i = classes![r]; i < per; i += last) s += rowData[i];
      else {
        const dims = output.dims.slice(1);
        s = rowData[t.index.reduce((flat, v, i) => flat * dims[i] + v, 0)];
      }
      out[r] = s;
    }
    return out;
  }

  private feedsWithTarget(feeds: Record<string, Tensor>, classes: number[] | undefined, rows: number): Record<string, Tensor> {
    if (!this.targetInput) return feeds;
    const c = classes ?? new Array(rows).fill(0);
    return { ...feeds, [this.targetInput]: { type: 'int64', dims: [rows], data: BigInt64Array.from(c.map(BigInt)) } };
  }

  /**
   * The methods build the rows of attributed tensors in float32; a model
   * input declared float64 gets them as float64 (onnxruntime refuses a
   * float32 tensor there).
   */
  private declaredTypes(feeds: Record<string, Tensor>): Record<string, Tensor> {
    if (!this.doubleInputs.length) return feeds;
    const out = { ...feeds };
    for (const k of this.doubleInputs) {
      const t = feeds[k];
      if (t && t.type === 'float32') out[k] = { type: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) };
    }
    return out;
  }

  /**
   * Runs rows through the engine. `feeds` has every input of the (cut) model
   * with `rows` rows; `classes` gives the class per row for class targets.
   * Rows beyond maxRows are split into several runs by the caller.
   */
  async run(
    feeds: Record<string, Tensor>,
    classes: number[] | undefined,
    wantGrad: boolean,
    signal?: AbortSignalLike,
    scales?: Record<string, Float32Array>,
    fdBatch = 256,
  ): Promise<EngineResult> {
    const rows = feeds[this.attributed[0]].dims[0];
    feeds = this.declaredTypes(feeds);
    if (this.source === 'graph') {
      const out = await this.session.run(this.feedsWithTarget(feeds, classes, rows));
      const grads: Record<string, Float32Array> = {};
      if (wantGrad) for (const w of this.attributed) grads[w] = asFloat32(out[this.gradOutputs[w]]);
      return { selected: Float64Array.from(asFloat32(out[this.selectedOutput!])), grads: wantGrad ? grads : undefined, output: out[this.outputName] };
    }
    const base = await this.session.run(feeds, [this.outputName]);
    const selected = this.select(base[this.outputName], classes);
    if (!wantGrad) return { selected, output: base[this.outputName] };
    if (this.source === 'none') throw new Error('a forward-only engine gives no gradients');
    const grads: Record<string, Float32Array> = {};
    for (const w of this.attributed) grads[w] = await this.finiteDifferences(feeds, w, classes, rows, signal, fdBatch, scales?.[w]);
    return { selected, grads, output: base[this.outputName] };
  }

  /**
   * Central differences of the selected value with respect to every element
   * of tensor w, for every row. All perturbations of a row go through the
   * session in batches of up to `fdBatch` rows (one at a time when the model
   * is not batchable).
   *
   * The step follows each element's own scale, h_i = eps32^(1/3) *
   * max(|x_i|, s_i), the usual balance of truncation (O(h^2)) against float32
   * rounding (O(eps/h)); s_i is the scale the method knows (|x - baseline|
   * for IG), so a feature measured in thousandths and one measured in
   * thousands each get a step of their own. Elements with no scale at all
   * get 1e-2 of the row's mean magnitude.
   *
   * One step cannot serve every element: an element small against its row
   * (a zero pixel) gets a step so small that the output's float32 rounding
   * swamps the difference (mnist-8's saliency was 0.19 off, nearly all of it
   * on zero pixels), and an element near a kink (a ReLU, a max) gets one
   * that straddles it. So each element is measured at a ladder of three
   * steps: a quarter of its own, its own, and the larger of four times its
   * own and the row's mean magnitude; the largest step whose estimate agrees
   * with the next smaller one within that one's rounding noise
   * (FD_NOISE_ULPS ulps of the output over the step) is taken, else the
   * smallest. Where the function bends at the element's own scale (a
   * standardised feature that happens to be 0), the large step disagrees and
   * is not taken. Three times the evaluations of one central pair
   * (FD_EVALUATIONS_PER_ELEMENT, which the evaluation budget counts).
   */
  private async finiteDifferences(
    feeds: Record<string, Tensor>,
    w: string,
    classes: number[] | undefined,
    rows: number,
    signal: AbortSignalLike | undefined,
    fdBatch: number,
    scale?: Float32Array,
  ): Promise<Float32Array> {
    const x = feeds[w];
    const per = rowSize(x);
    const xs = asFloat32(x);
    const grad = new Float32Array(rows * per);
    const chunk = Math.max(2, Math.min(fdBatch, this.maxRows === 1 ? 2 : fdBatch) & ~1);
    const cbrtEps = Math.cbrt(EPS32);
    for (let r = 0; r < rows; r++) {
      const xr = xs.subarray(r * per, (r + 1) * per);
      let mean = 0;
      for (const v of xr) mean += Math.abs(v);
      mean /= per;
      const sr = scale?.subarray(r * per, (r + 1) * per);
      // (element, step) pairs: every element at its own step, small ones again at the row's scale
      const elements: number[] = [];
      const steps: number[] = [];
      // each element's ladder of steps, smallest first: a quarter of its own, its own, and the larger of four times it and the row's
      const ladders: number[][] = [];
      for (let i = 0; i < per; i++) {
        const base = Math.max(Math.abs(xr[i]), sr ? Math.abs(sr[i]) : 0);
        const h = cbrtEps * (base > 0 ? base : Math.max(1e-2 * mean, 1e-4));
        const ladder: number[] = [];
        for (const step of fdLadder(h, cbrtEps * mean)) {
          ladder.push(steps.length);
          elements.push(i);
          steps.push(step);
        }
        ladders.push(ladder);
      }
      const estimate = new Float64Array(steps.length);
      const magnitude = new Float64Array(steps.length);
      const pairs = steps.length;
      // one perturbed copy per (pair, sign), signs adjacent
      for (let start = 0; start < 2 * pairs; start += this.maxRows === 1 ? 1 : chunk) {
        throwIfAborted(signal);
        const n = this.maxRows === 1 ? 1 : Math.min(chunk, 2 * pairs - start);
        const moved = (p: number, sign: number) => Math.fround(xr[elements[p >> 1]] + sign * steps[p >> 1]);
        const batch: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(feeds)) {
          const size = rowSize(v);
          const data = new (v.data.constructor as new (m: number) => Float32Array)(n * size);
          for (let j = 0; j < n; j++) data.set((v.data as Float32Array).subarray(r * size, (r + 1) * size), j * size);
          if (k === w) {
            // perturb in float64 then round: the step actually taken is what divides
            for (let j = 0; j < n; j++) data[j * size + elements[(start + j) >> 1]] = moved(start + j, (start + j) & 1 ? -1 : 1);
          }
          batch[k] = { type: v.type, dims: [n, ...v.dims.slice(1)], data };
        }
        const cls = classes ? new Array(n).fill(classes[r]) : undefined;
        const out = await this.session.run(batch, [this.outputName]);
        const sel = this.select(out[this.outputName], cls);
        for (let j = 0; j < n; j++) {
          const p = start + j;
          const q = p >> 1;
          // (f+ - f-) / (h+ + h-), accumulated from the two halves
          const span = moved(p & ~1, 1) - moved(p | 1, -1);
          estimate[q] += ((p & 1 ? -1 : 1) * sel[j]) / span;
          magnitude[q] = Math.max(magnitude[q], Math.abs(sel[j]));
        }
      }
      for (let i = 0; i < per; i++) {
        // the largest step whose estimate agrees with the next smaller one within that one's rounding noise
        const ladder = ladders[i];
        let g = estimate[ladder[0]];
        for (let l = ladder.length - 1; l > 0; l--) {
          const [big, small] = [ladder[l], ladder[l - 1]];
          const noise = (FD_NOISE_ULPS * EPS32 * magnitude[small]) / (2 * steps[small]);
          if (Math.abs(estimate[big] - estimate[small]) <= noise) {
            g = estimate[big];
            break;
          }
        }
        grad[r * per + i] = g;
      }
    }
    return grad;
  }
}
