/**
 * An Explainer holds a runtime and a model, prepares gradient engines on
 * demand (one per output, attributed tensors, layer and target kind) and
 * keeps them, so a service explains many inputs with sessions made once.
 * The attribution methods (integratedGradients.ts, gradientMethods.ts) take
 * an Explainer.
 */
import type { ModelProto } from '../onnx/types';
import type { Runtime, Tensor } from '../runtime';
import { summarizeModel } from '../inspect';
import { checkInput } from '../checkInput';
import type { Target } from '../grad/builder';
import { GradientEngine, type GradientMode } from './engine';
import { gatherRows, rowSize, asFloat32 } from './tensors';
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
  /** Model output to explain (default: the first). */
  output?: string;
  /** Inputs to attribute (default: every floating-point input). Others are held fixed. */
  attribute?: string[];
  /** Attribute at an intermediate tensor instead (layer attribution), e.g. an embedding output. */
  at?: string;
  gradients?: GradientMode;
  /** Rows per session run (interpolation points, noise samples); bounds memory. Default: sized to the model's activations (1 to 64). */
  internalBatchSize?: number;
}

export interface ResolvedTarget {
  target: Target;
  /** Class per example, for class targets. */
  classes?: number[];
}

export class Explainer {
  private readonly engines = new Map<string, Promise<GradientEngine>>();
  readonly summary;

  constructor(readonly runtime: Runtime, readonly model: ModelProto) {
    this.summary = summarizeModel(model);
  }

  /** Float inputs: the default attributed tensors. */
  floatInputs(): string[] {
    return this.summary.inputs.filter((i) => i.type === 'float32' || i.type === 'float64').map((i) => i.name);
  }

  /** Checks the given inputs against the model and returns the batch size. */
  validate(inputs: Record<string, Tensor>): number {
    let batch = -1;
    for (const declared of this.summary.inputs) {
      const t = inputs[declared.name];
      if (!t) throw new Error(`no value given for input '${declared.name}'; the model's inputs are ${this.summary.inputs.map((i) => i.name).join(', ')}`);
      checkInput(declared, { dtype: t.type, shape: t.dims });
      if (batch >= 0 && t.dims[0] !== batch) throw new Error(`inputs disagree on the batch size: '${declared.name}' has ${t.dims[0]} rows, another input ${batch}`);
      batch = t.dims[0];
    }
    for (const k of Object.keys(inputs)) {
      if (!this.summary.inputs.some((i) => i.name === k)) throw new Error(`the model has no input '${k}'; its inputs are ${this.summary.inputs.map((i) => i.name).join(', ')}`);
    }
    return batch;
  }

  /** An engine for these options, prepared on first use with the first example as the sample. */
  async engine(inputs: Record<string, Tensor>, opts: CommonOptions, target: Target): Promise<GradientEngine> {
    const wrt = opts.at ? [] : opts.attribute ?? this.floatInputs();
    if (!opts.at && wrt.length === 0) {
      throw new Error('the model has no floating-point input to attribute; attribute at a layer instead (for a text model, its embedding output)');
    }
    for (const w of wrt) if (!this.summary.inputs.some((i) => i.name === w)) throw new Error(`cannot attribute '${w}': the model has no such input`);
    const key = JSON.stringify([opts.output ?? '', wrt, opts.at ?? '', opts.gradients ?? 'auto', target.kind, target.kind === 'index' ? target.index : []]);
    let engine = this.engines.get(key);
    if (!engine) {
      const sample: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) sample[k] = gatherRows(v, [0]);
      engine = GradientEngine.create(this.runtime, this.model, sample, { output: opts.output, wrt, at: opts.at, gradients: opts.gradients, target });
      this.engines.set(key, engine);
      engine.catch(() => this.engines.delete(key));
    }
    return engine;
  }

  /** Turns a TargetSpec into the gradient target, finding top classes with a forward run when none is given. */
  async resolveTarget(inputs: Record<string, Tensor>, opts: CommonOptions, batch: number): Promise<ResolvedTarget> {
    const spec = opts.target;
    if (spec === 'sum') return { target: { kind: 'sum' } };
    if (typeof spec === 'object' && !Array.isArray(spec)) return { target: { kind: 'index', index: spec.index } };
    const target: Target = { kind: 'class' };
    let classes: number[];
    if (spec === undefined) {
      classes = await this.topClasses(inputs, opts, batch);
    } else {
      classes = typeof spec === 'number' ? new Array(batch).fill(spec) : spec;
      if (classes.length !== batch) throw new Error(`${classes.length} targets given for ${batch} examples`);
    }
    const out = this.summary.outputs.find((o) => o.name === (opts.output ?? this.summary.outputs[0].name));
    const n = out?.shape?.[out.shape.length - 1];
    for (const c of classes) {
      if (!Number.isInteger(c) || c < 0 || (typeof n === 'number' && c >= n)) {
        throw new Error(`target ${c} is out of range: output '${out?.name}' has ${typeof n === 'number' ? n : 'an unknown number of'} classes${typeof n === 'number' ? ` (0 to ${n - 1})` : ''}`);
      }
    }
    return { target, classes };
  }

  /** The arg-max of the explained output's last axis, per example. */
  async topClasses(inputs: Record<string, Tensor>, opts: CommonOptions, batch: number): Promise<number[]> {
    const engine = await this.engine(inputs, { ...opts, target: undefined }, { kind: 'class' });
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

  /** The feeds an engine takes for given model inputs: with a layer, the layer tensor is added. */
  async modelFeeds(engine: GradientEngine, inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
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
    opts: LongRunOptions & { internalBatchSize?: number },
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

  async release(): Promise<void> {
    for (const e of this.engines.values()) await (await e.catch(() => undefined))?.release();
    this.engines.clear();
  }
}
