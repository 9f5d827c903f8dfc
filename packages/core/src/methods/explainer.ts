/**
 * An Explainer holds a runtime and a model, prepares gradient engines on
 * demand (one per output, attributed tensors, layer and target kind) and
 * keeps them, so a service explains many inputs with sessions made once.
 * The attribution methods (one module each, listed in dispatch.ts) take
 * an Explainer.
 */
import type { ModelProto } from '../onnx/types';
import type { Runtime, Session, Tensor } from '../runtime';
import { summarizeModel, explainedOutput } from '../inspect';
import { embeddingOutputs } from '../grad/coverage';
import { checkInput } from '../checkInput';
import type { Target } from '../grad/builder';
import type { RuleSetSpec } from '../grad/ruleSets';
import { GradientEngine, prepareModel, FD_EVALUATIONS_PER_ELEMENT, type GradientMode, type PreparedModel } from './engine';
import type { SymDim } from '../grad/shapes';
import { gatherRows, rowSize, asFloat32 } from './tensors';
import { batchLayout, batchMajorInputs, batchMajorModel, inputBatch, type BatchLayout } from './batchLayout';
import { throwIfAborted, type LongRunOptions } from './progress';

/**
 * What to explain, per example: a class index on the output's last axis (one
 * for all examples, or one per example), an index into the non-batch axes
 * ({ index: [...] }), or 'sum' for the whole output row. Omitted: the top
 * class of each example.
 */
export type TargetSpec = number | number[] | { index: number[] } | 'sum';

export interface CommonOptions extends LongRunOptions {
  target?: TargetSpec;
  /** Model output to explain (default: the first floating-point output, see explainedOutput). */
  output?: string;
  /** Inputs to attribute (default: every floating-point input). Others are held fixed. */
  attribute?: string[];
  /** Attribute at an intermediate tensor instead (layer attribution), e.g. an embedding output. */
  at?: string;
  gradients?: GradientMode;
  /** Rows per session run (interpolation points, noise samples); bounds memory. Default: sized to the model's activations (1 to 64). */
  internalBatchSize?: number;
  /**
   * Most model evaluations finite differences may take in one pass (default
   * MAX_FD_EVALUATIONS); past it the method refuses before starting.
   */
  maxEvaluations?: number;
}

/** The options every method takes, checked before any work (every method resolves its target first). */
function checkCommonOptions(opts: CommonOptions): void {
  const { internalBatchSize: b, maxEvaluations: m } = opts;
  if (b !== undefined && (!Number.isInteger(b) || b < 1)) throw new RangeError(`internalBatchSize must be a positive integer, got ${b}`);
  if (m !== undefined && (!Number.isInteger(m) || m < 1)) throw new RangeError(`maxEvaluations must be a positive integer, got ${m}`);
  if (opts.gradients !== undefined && !['auto', 'graph', 'fd'].includes(opts.gradients)) throw new RangeError(`gradients must be 'auto', 'graph' or 'fd', got '${opts.gradients}'`);
}

/** Finite differences past this many model evaluations are refused: hours of work, not an answer. */
export const MAX_FD_EVALUATIONS = 1_000_000;

/** Refuses a finite-difference pass whose cost is out of all proportion, saying what it would cost and why it is needed. */
function checkFdBudget(engine: GradientEngine, rows: number, oneRow: Record<string, Tensor>, limit: number): void {
  const elements = engine.attributed.reduce((a, w) => a + rowSize(oneRow[w]), 0);
  const evaluations = rows * (FD_EVALUATIONS_PER_ELEMENT * elements + 1);
  if (evaluations <= limit) return;
  const n = (v: number) => v.toLocaleString('en-US');
  throw new Error(
    `finite differences would take ${n(evaluations)} model evaluations (${n(elements)} attributed elements, ${FD_EVALUATIONS_PER_ELEMENT} per element and row, ${n(rows)} rows), over the limit of ${n(limit)}; ` +
      `they are used because ${engine.reason ?? 'no gradient graph was built'}. Attribute at a smaller layer, take fewer steps, or raise maxEvaluations (--max-evaluations)`,
  );
}

/** A target that does not fit the explained output: the caller's mistake, reported before any work. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

export interface ResolvedTarget {
  target: Target;
  /** Class per example, for class targets. */
  classes?: number[];
}

export class Explainer {
  private readonly engines = new Map<string, Promise<GradientEngine>>();
  private readonly prepared = new Map<string, Promise<PreparedModel>>();
  private view: ModelProto | undefined;
  readonly summary;

  constructor(readonly runtime: Runtime, readonly model: ModelProto) {
    this.summary = summarizeModel(model);
    this.layout = batchLayout(this.summary);
  }

  /** Float inputs with a batch axis of their own: the default attributed tensors. */
  floatInputs(): string[] {
    return this.summary.inputs.filter((i) => (i.type === 'float32' || i.type === 'float64') && !this.layout.layouts[i.name]).map((i) => i.name);
  }

  /** Where each input keeps its batch (see batchLayout.ts). */
  readonly layout: BatchLayout;

  /** The model as the engines run it: every input batch-first. */
  private viewModel(): ModelProto {
    this.view ??= batchMajorModel(this.model, this.layout);
    return this.view;
  }

  /** The inputs rearranged batch-first, as the engines take them. */
  private toView(inputs: Record<string, Tensor>, layout: BatchLayout): Record<string, Tensor> {
    if (!Object.keys(layout.layouts).length) return inputs;
    const batch = this.batchOf(inputs, layout);
    return batchMajorInputs(inputs, layout, batch);
  }

  private batchOf(inputs: Record<string, Tensor>, layout: BatchLayout): number {
    let batch = -1;
    let first = '';
    for (const declared of this.summary.inputs) {
      const t = inputs[declared.name];
      const b = t && inputBatch(t, layout.layouts[declared.name]);
      if (b === undefined) continue;
      if (batch >= 0 && b !== batch) {
        const axis = layout.layouts[declared.name]?.batchAxis ?? 0;
        const where = axis === 0 ? 'rows' : `on its batch axis ${axis}${layout.symbol ? ` ('${layout.symbol}')` : ''}`;
        throw new Error(`inputs disagree on the batch size: '${declared.name}' has ${b} ${where}, '${first}' has ${batch}`);
      }
      batch = b;
      first = declared.name;
    }
    if (batch < 0) throw new Error('no input has a batch axis');
    return batch;
  }

  /**
   * Checks the given inputs against the model and returns the batch size.
   * `missingValues`: NaN inputs are allowed (a tree ensemble sends them down
   * its missing-value track); infinities never are.
   */
  validate(inputs: Record<string, Tensor>, { missingValues = false } = {}): number {
    for (const declared of this.summary.inputs) {
      const t = inputs[declared.name];
      if (!t) throw new Error(`no value given for input '${declared.name}'; the model's inputs are ${this.summary.inputs.map((i) => i.name).join(', ')}`);
      checkInput(declared, { dtype: t.type, shape: t.dims });
      if (t.type === 'float32' || t.type === 'float64') {
        const d = t.data as Float32Array;
        for (let i = 0; i < d.length; i++) {
          if (!Number.isFinite(d[i]) && !(missingValues && Number.isNaN(d[i]))) throw new Error(`input '${declared.name}' holds ${d[i]} at flat index ${i}: attributions need finite inputs`);
        }
      }
    }
    for (const k of Object.keys(inputs)) {
      if (!this.summary.inputs.some((i) => i.name === k)) throw new Error(`the model has no input '${k}'; its inputs are ${this.summary.inputs.map((i) => i.name).join(', ')}`);
    }
    return this.batchOf(inputs, this.layout);
  }

  /** The output explained with these options: the one asked for, or explainedOutput's default. */
  outputName(opts: CommonOptions): string {
    return explainedOutput(this.model, opts.output);
  }

  /**
   * The model made batchable and its shapes probed, once per shape of the
   * inputs (a text model fed another sequence length gets its own).
   */
  private prepare(given: Record<string, Tensor>): { key: string; prepared: Promise<PreparedModel> } {
    const layout = this.layout;
    const inputs = this.toView(given, layout);
    const key = JSON.stringify(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.type, v.dims.slice(1)]));
    let prepared = this.prepared.get(key);
    if (!prepared) {
      const sample: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) sample[k] = gatherRows(v, [0]);
      // inputs without a batch axis are the same in every row: not varied, not tiled
      const fixed = Object.entries(layout.layouts).filter(([, l]) => l.batchAxis === null).map(([k]) => k);
      prepared = prepareModel(this.runtime, this.viewModel(), sample, fixed);
      this.prepared.set(key, prepared);
      prepared.catch(() => this.prepared.delete(key));
    }
    return { key, prepared };
  }

  /** The explained output's probed shape, batch axis 'N' (a number when the model takes one row). */
  async outputShape(inputs: Record<string, Tensor>, opts: CommonOptions): Promise<SymDim[]> {
    const output = this.outputName(opts);
    const { shapes } = await this.prepare(inputs).prepared;
    const dims = shapes.get(output)?.dims;
    if (!dims) throw new Error(`the shape of output '${output}' could not be found by running the model`);
    return dims;
  }

  /**
   * The inputs a forward-only method varies by default: the floating-point
   * ones, or, for a model with none (token ids, bytes), every input with a
   * batch axis of its own.
   */
  perturbedInputs(): string[] {
    const floats = this.floatInputs();
    return floats.length ? floats : this.summary.inputs.filter((i) => !this.layout.layouts[i.name]).map((i) => i.name);
  }

  /**
   * An engine for these options, prepared on first use with the first
   * example as the sample. kind 'forward': the model's output only (see
   * EngineOptions.forwardOnly), attributing inputs of any type.
   */
  async engine(inputs: Record<string, Tensor>, opts: CommonOptions, target: Target, kind: 'gradient' | 'forward' = 'gradient', rules: RuleSetSpec = 'standard'): Promise<GradientEngine> {
    const forwardOnly = kind === 'forward';
    if (forwardOnly && opts.at) throw new Error(`'at' (layer attribution) needs gradients; the perturbation methods vary model inputs: choose them with 'attribute'`);
    const wrt = opts.at ? [] : opts.attribute ?? (forwardOnly ? this.perturbedInputs() : this.floatInputs());
    if (!opts.at && wrt.length === 0) {
      const held = Object.keys(this.layout.layouts).filter((k) => this.summary.inputs.some((i) => i.name === k && (i.type === 'float32' || i.type === 'float64')));
      const emb = embeddingOutputs(this.model);
      throw new Error(
        `the model has no floating-point input to attribute${held.length ? ` (${held.map((h) => `'${h}'`).join(', ')} ${held.length > 1 ? 'are' : 'is'} held fixed: ${held.length > 1 ? 'their' : 'its'} batch is not on the first axis)` : ''}; ` +
          `attribute at a layer instead (for a text model, its embedding output${emb.length ? `: '${emb[0]}'` : ''})`,
      );
    }
    for (const w of wrt) if (!this.summary.inputs.some((i) => i.name === w)) throw new Error(`cannot attribute '${w}': the model has no such input`);
    const layout = this.layout;
    for (const w of wrt) {
      const l = layout.layouts[w];
      if (!l) continue;
      throw new Error(
        l.batchAxis === null
          ? `cannot attribute '${w}': it has no batch axis (it is held fixed for every example); attribute another input, or choose inputs with --attribute`
          : `cannot attribute '${w}': its batch is on axis ${l.batchAxis}${layout.symbol ? ` ('${layout.symbol}')` : ''}, not the first; such inputs (a decoder's past states) are held fixed`,
      );
    }
    const output = this.outputName(opts);
    const { key: shapeKey, prepared } = this.prepare(inputs);
    const mode = forwardOnly ? 'forward' : opts.gradients ?? 'auto';
    const key = JSON.stringify([shapeKey, output, wrt, opts.at ?? '', mode, rules, target.kind, target.kind === 'index' ? target.index : []]);
    let engine = this.engines.get(key);
    if (!engine) {
      engine = prepared.then((p) => GradientEngine.create(this.runtime, p, { output, wrt, at: opts.at, gradients: opts.gradients, target, forwardOnly, rules }));
      this.engines.set(key, engine);
      engine.catch(() => this.engines.delete(key));
    }
    return engine;
  }

  /**
   * Turns a TargetSpec into the gradient target, finding top classes with a
   * forward run when none is given. Checked against the output's probed
   * shape before any attribution work: a target that does not index the
   * output is the user's mistake, never a reason to fall back to finite
   * differences.
   */
  async resolveTarget(inputs: Record<string, Tensor>, opts: CommonOptions, batch: number, kind: 'gradient' | 'forward' = 'gradient'): Promise<ResolvedTarget> {
    checkCommonOptions(opts);
    const spec = opts.target;
    const dims = await this.outputShape(inputs, opts);
    const output = this.outputName(opts);
    const shown = `[${dims.join(', ')}]`;
    const axes = dims.slice(1);
    if (spec === 'sum') return { target: { kind: 'sum' } };
    if (typeof spec === 'object' && !Array.isArray(spec)) {
      const bad = spec.index.length !== axes.length || spec.index.some((v, i) => !Number.isInteger(v) || v < 0 || (typeof axes[i] === 'number' && v >= (axes[i] as number)));
      if (bad) {
        throw new TargetError(`target index [${spec.index.join(', ')}] does not index output '${output}' of shape ${shown}: it takes ${axes.length} value${axes.length === 1 ? '' : 's'}, one per non-batch axis, each below [${axes.join(', ')}]`);
      }
      return { target: { kind: 'index', index: spec.index } };
    }
    // the top class is a classifier's idea: on any other output (an image, a
    // sequence of per-position scores) it would pick an arbitrary element or
    // sum over positions, so a target must be said. An explicit class on a
    // longer output is its last axis, summed over the others (documented).
    if (axes.length === 0) throw new TargetError(`output '${output}' has shape ${shown}, one value per example: explain it with the target 'sum'`);
    if (axes.length !== 1 && spec === undefined) {
      const example = axes.map((d) => (typeof d === 'number' ? Math.floor(d / 2) : 0)).join(',');
      throw new TargetError(
        `output '${output}' has shape ${shown}, not [N, classes], so there is no top class to explain: give the target as an index over its non-batch axes (e.g. ${example}) or 'sum'`,
      );
    }
    const n = axes[axes.length - 1];
    let classes: number[];
    if (spec === undefined) {
      classes = await this.topClasses(inputs, opts, batch, kind);
    } else {
      classes = typeof spec === 'number' ? new Array(batch).fill(spec) : spec;
      if (classes.length !== batch) throw new TargetError(`${classes.length} targets given for ${batch} examples`);
    }
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 0 || (typeof n === 'number' && c >= n)) {
        throw new TargetError(`target ${c} is out of range: output '${output}' of shape ${shown} has ${typeof n === 'number' ? `${n} classes (0 to ${n - 1})` : 'classes numbered from 0'}`);
      }
    }
    return { target: { kind: 'class' }, classes };
  }

  /** The arg-max of the explained output's last axis, per example. */
  async topClasses(inputs: Record<string, Tensor>, opts: CommonOptions, batch: number, kind: 'gradient' | 'forward' = 'gradient'): Promise<number[]> {
    // the method's own engine (made here once, used again for its rows)
    const engine = await this.engine(inputs, { ...opts, target: undefined }, { kind: 'class' }, kind);
    const feeds = await this.modelFeeds(engine, inputs);
    const res = await engine.run(feeds, new Array(batch).fill(0), false);
    const out = res.output;
    const per = rowSize(out);
    const last = out.dims[out.dims.length - 1];
    const data = asFloat32(out);
    return Array.from({ length: batch }, (_, r) => {
      let best = 0;
      const rowData = data.subarray(r * per, r * per + last);
      for (let i = 1; i < last; i++) if (rowData[i] > rowData[best]) best = i;
      return best;
    });
  }

  /**
   * The feeds an engine takes for given model inputs: every input
   * batch-first (see batchLayout.ts); with a layer, the layer tensor added.
   */
  async modelFeeds(engine: GradientEngine, given: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const inputs = this.toView(given, this.layout);
    if (!engine.at) return inputs;
    return { ...inputs, [engine.at]: await engine.layerValue(inputs) };
  }

  /**
   * Runs rows through an engine in batches of at most `batchSize` rows,
   * reporting progress and honouring cancellation. `rowsOf(start, n)` builds
   * the feeds of rows [start, start + n).
   */
  async runRows(
    engine: GradientEngine,
    total: number,
    rowsOf: (start: number, n: number) => { feeds: Record<string, Tensor>; classes?: number[]; scales?: Record<string, Float32Array> },
    opts: LongRunOptions & { internalBatchSize?: number; maxEvaluations?: number },
    phase: string,
    wantGrad = true,
    /**
     * Takes each batch's gradients as they come (rows [start, start + n)),
     * instead of keeping all of them: memory then grows with the batch size,
     * not with the number of rows (IG's steps).
     */
    consume?: (start: number, n: number, grads: Record<string, Float32Array>) => void,
  ): Promise<{ selected: Float64Array; grads: Record<string, Float32Array> }> {
    const size = Math.max(1, Math.min(opts.internalBatchSize ?? engine.suggestedBatchSize(), engine.maxRows));
    if (wantGrad && engine.source === 'fd' && total > 0) checkFdBudget(engine, total, rowsOf(0, 1).feeds, opts.maxEvaluations ?? MAX_FD_EVALUATIONS);
    const selected = new Float64Array(total);
    const grads: Record<string, Float32Array> = {};
    for (let start = 0; start < total; start += size) {
      throwIfAborted(opts.signal);
      const n = Math.min(size, total - start);
      const { feeds, classes, scales } = rowsOf(start, n);
      const res = await engine.run(feeds, classes, wantGrad, opts.signal, scales);
      selected.set(res.selected, start);
      if (consume && res.grads) {
        consume(start, n, res.grads);
      } else {
        for (const [k, g] of Object.entries(res.grads ?? {})) {
          if (!grads[k]) grads[k] = new Float32Array((g.length / n) * total);
          grads[k].set(g, (g.length / n) * start);
        }
      }
      opts.onProgress?.({ phase, done: start + n, total });
    }
    return { selected, grads };
  }

  private readonly children = new Map<string, Explainer>();
  private plain: Promise<Session> | undefined;

  /**
   * An Explainer of a model made from this one (a decoder's log-probability
   * model), made once per key and kept with its sessions, so a service
   * asking again pays no set-up; released with this one.
   */
  derived(key: string, make: (model: ModelProto) => ModelProto): Explainer {
    let child = this.children.get(key);
    if (!child) {
      child = new Explainer(this.runtime, make(this.model));
      this.children.set(key, child);
    }
    return child;
  }

  /** A session of the model as given (for plain forward runs of any shape), made once. */
  session(): Promise<Session> {
    if (!this.plain) {
      this.plain = this.runtime.createSession(this.model);
      this.plain.catch(() => (this.plain = undefined));
    }
    return this.plain;
  }

  async release(): Promise<void> {
    for (const e of this.engines.values()) await (await e.catch(() => undefined))?.release();
    this.engines.clear();
    for (const c of this.children.values()) await c.release();
    this.children.clear();
    const plain = this.plain;
    this.plain = undefined;
    await (await plain?.catch(() => undefined))?.release();
  }
}
