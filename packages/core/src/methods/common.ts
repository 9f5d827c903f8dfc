/**
 * What every attribution method shares: baselines, the rows it runs (one
 * per example, or per point between a baseline and the input), gradients at
 * the inputs themselves, the result's common part with its checks
 * (non-finite values refused, completeness warnings), and option checks.
 * One module per method sits over it (integratedGradients.ts, saliency.ts,
 * ...), listed in dispatch.ts's table.
 */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions, type TargetSpec } from './explainer';
import { rowSize, asFloat32, isTensor } from './tensors';
import type { GradientEngine, GradientSource } from './engine';
import type { RuleSetSpec } from '../grad/ruleSets';

/**
 * A baseline for one attributed tensor: 'zeros', a constant, a tensor (one row
 * for every example, or one row per example), or, for layer attribution, the
 * model inputs whose layer value is the baseline ({ inputs: { token_ids: pads } }).
 */
export type BaselineValue = 'zeros' | number | Tensor | { inputs: Record<string, Tensor> };
/** One baseline value for every attributed tensor, or a value per tensor name. */
export type Baseline = BaselineValue | Record<string, BaselineValue>;

export interface AttributionResult {
  method: string;
  /** Attributions per attributed tensor (graph input or layer), float32, batch first. */
  attributions: Record<string, Tensor>;
  /** Sum of all attributions per example. */
  sum: number[];
  /** The target as asked, or 'top' when the top class of each example was explained. */
  target: TargetSpec | 'top';
  /** The classes explained, for class targets. */
  classes?: number[];
  /** The explained value per example (F(x)). */
  outputs: number[];
  /** The model output explained (asked for, or explainedOutput's default: the first floating-point one). */
  outputName: string;
  /** Where gradients came from; 'none' for the perturbation methods, which run the model only. */
  gradientSource: GradientSource;
  /** Why finite differences were used. */
  fdReason?: string;
  /** Ops without a gradient rule that the graph gradients went through, lowered to standard ops: 'LSTM (LSTM_9)'. */
  lowered?: string[];
  /** For layer attribution: the tensor attributed, and per-position scores (sum over its last axis). */
  at?: string;
  positionScores?: Tensor;
  runtime: string;
  /** How the model was made batchable, or why it runs one row at a time. */
  batchNotes: string[];
  /** Rows per session run that were used. */
  batchSize: number;
  /** What the result's own checks found doubtful (a completeness gap too large for its steps): to be shown, not hidden. */
  warnings?: string[];
}

function isBaselineValue(v: unknown): v is BaselineValue {
  return v === 'zeros' || typeof v === 'number' || isTensor(v) || (typeof v === 'object' && v !== null && 'inputs' in v);
}

/** The baseline of tensor `name` as a float32 tensor with the rows of `x`. */
export async function baselineFor(
  explainer: Explainer,
  engine: GradientEngine,
  baseline: Baseline,
  name: string,
  x: Tensor,
): Promise<Float32Array> {
  const value: BaselineValue | undefined = isBaselineValue(baseline) ? baseline : (baseline as Record<string, BaselineValue>)[name];
  const rows = x.dims[0];
  const per = rowSize(x);
  const out = new Float32Array(rows * per);
  if (value === undefined || value === 'zeros') return out;
  if (typeof value === 'number') return out.fill(value);
  let t: Tensor;
  if (isTensor(value)) {
    t = value;
  } else {
    if (!engine.at) throw new Error(`a baseline given as model inputs needs layer attribution ('at')`);
    t = (await explainer.modelFeeds(engine, value.inputs))[engine.at];
  }
  const tPer = rowSize(t);
  if (tPer !== per || (t.dims[0] !== 1 && t.dims[0] !== rows)) {
    throw new Error(`baseline for '${name}' has shape [${t.dims.join(', ')}], expected [1 or ${rows}, ${x.dims.slice(1).join(', ')}]`);
  }
  const src = asFloat32(t);
  for (let r = 0; r < rows; r++) out.set(src.subarray((t.dims[0] === 1 ? 0 : r) * per, ((t.dims[0] === 1 ? 0 : r) + 1) * per), r * per);
  return out;
}

/** Feeds of `n` rows for examples/points given by `pick(j) -> [example, values per attributed tensor]`. */
export function pointFeeds(
  feeds: Record<string, Tensor>,
  attributed: string[],
  start: number,
  n: number,
  exampleOf: (j: number) => number,
  fill: (name: string, j: number, out: Float32Array) => void,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) {
    const per = rowSize(v);
    if (attributed.includes(k)) {
      const data = new Float32Array(n * per);
      for (let j = 0; j < n; j++) fill(k, start + j, data.subarray(j * per, (j + 1) * per));
      out[k] = { type: 'float32', dims: [n, ...v.dims.slice(1)], data };
    } else {
      const data = new (v.data.constructor as new (m: number) => Float32Array)(n * per);
      for (let j = 0; j < n; j++) {
        const e = exampleOf(start + j);
        data.set((v.data as Float32Array).subarray(e * per, (e + 1) * per), j * per);
      }
      out[k] = { type: v.type, dims: [n, ...v.dims.slice(1)], data };
    }
  }
  return out;
}

/**
 * The row builder runRows takes for "the examples themselves": row j is
 * example j, with the attributed tensors taken from `values` (default: the
 * examples' own), the other inputs as given.
 */
export function exampleRows(
  feeds: Record<string, Tensor>,
  attributed: string[],
  classes: number[] | undefined,
  values: Record<string, Float32Array> = Object.fromEntries(attributed.map((w) => [w, asFloat32(feeds[w])])),
) {
  return (start: number, n: number) => ({
    feeds: pointFeeds(feeds, attributed, start, n, (j) => j, (w, j, out) => out.set(values[w].subarray(j * out.length, (j + 1) * out.length))),
    classes: classes?.slice(start, start + n),
  });
}

/** Per-position scores of a layer attribution: the sum over its last axis. */
export function positionScores(attr: Tensor): Tensor {
  const last = attr.dims[attr.dims.length - 1];
  const src = asFloat32(attr);
  const data = new Float32Array(src.length / last);
  for (let i = 0; i < data.length; i++) {
    let s = 0;
    for (let k = 0; k < last; k++) s += src[i * last + k];
    data[i] = s;
  }
  return { type: 'float32', dims: attr.dims.slice(0, -1), data };
}

/** Common tail of every method's result. */
/**
 * A result with NaN or infinite values is no answer: refused, with where
 * the bad values are, rather than printed (inputs are checked up front, so
 * these come from the model or the method's own arithmetic).
 */
function refuseNonFinite(method: string, attributions: Record<string, Tensor>, outputs: Float64Array): void {
  const bad: string[] = [];
  const firstBad = Array.from(outputs).findIndex((v) => !Number.isFinite(v));
  if (firstBad >= 0) bad.push(`the explained output is ${outputs[firstBad]} for example ${firstBad}`);
  for (const [name, t] of Object.entries(attributions)) {
    const d = asFloat32(t);
    let count = 0;
    let first = -1;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        count++;
        if (first < 0) first = i;
      }
    }
    if (count) bad.push(`${count} of ${d.length} attributions of '${name}' are not finite (the first, at flat index ${first}, is ${d[first]})`);
  }
  if (bad.length) throw new Error(`${method}: no finite result: ${bad.join('; ')}`);
}

export function resultBase(
  method: string,
  explainer: Explainer,
  engine: GradientEngine,
  spec: TargetSpec | undefined,
  classes: number[] | undefined,
  attributions: Record<string, Tensor>,
  outputs: Float64Array,
  internalBatchSize?: number,
): AttributionResult {
  const batch = outputs.length;
  refuseNonFinite(method, attributions, outputs);
  const sum = Array.from({ length: batch }, (_, i) => {
    let s = 0;
    for (const t of Object.values(attributions)) {
      const per = rowSize(t);
      const d = asFloat32(t);
      for (let k = 0; k < per; k++) s += d[i * per + k];
    }
    return s;
  });
  const res: AttributionResult = {
    method,
    attributions,
    sum,
    target: spec ?? 'top',
    classes,
    outputs: Array.from(outputs),
    outputName: engine.outputName,
    gradientSource: engine.source,
    runtime: explainer.runtime.name,
    batchNotes: engine.batchNotes,
    batchSize: Math.max(1, Math.min(internalBatchSize ?? engine.suggestedBatchSize(), engine.maxRows)),
  };
  if (engine.reason) res.fdReason = engine.reason;
  if (engine.lowered.length) res.lowered = engine.lowered;
  if (engine.at) {
    res.at = engine.at;
    res.positionScores = positionScores(attributions[engine.at]);
  }
  return res;
}

/** |delta| above this share of |F(x) - F(x')| is reported: the integral, or the gradients, are off. */
export const COMPLETENESS_WARNING = 0.05;

/** One warning per example whose completeness gap is past COMPLETENESS_WARNING of its output change. */
export function completenessWarnings(delta: number[], change: number[], source: GradientSource): string[] {
  const out: string[] = [];
  delta.forEach((d, e) => {
    const share = Math.abs(d) / Math.max(Math.abs(change[e]), 1e-12);
    if (share > COMPLETENESS_WARNING && Math.abs(d) > 1e-6) {
      const fix = source === 'fd' ? 'more steps, or graph gradients (finite differences add their own error)' : "more steps, or steps: 'auto'";
      out.push(`example ${e}: completeness gap ${d.toExponential(2)} is ${(100 * share).toFixed(1)}% of F(x) - F(baseline) = ${change[e].toExponential(2)}; the attributions are not converged: take ${fix}`);
    }
  });
  return out;
}


/** Options are checked before any work: zero samples would average over nothing, a NaN stdev poison every row. */
export function checkSamples(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`samples must be a positive integer, got ${n}`);
  return n;
}
export function checkStdev(v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`stdev must be a finite number >= 0, got ${v}`);
  return v;
}

/** Gradients of the target at the inputs themselves (one row per example). */
export async function gradientsAt(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions, method: string, rules: RuleSetSpec = 'standard') {
  const batch = explainer.validate(inputs);
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target, 'gradient', rules);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const run = await explainer.runRows(engine, batch, exampleRows(feeds, engine.attributed, classes), opts, method);
  return { batch, target, classes, engine, feeds, run };
}
