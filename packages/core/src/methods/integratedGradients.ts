/**
 * Integrated Gradients (Sundararajan, Taly and Yan 2017):
 *   attr_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da,
 * approximated with a quadrature rule whose points are run as batches of rows
 * through one session. Completeness, sum(attr) = F(x) - F(x'), is reported as
 * `delta` = sum(attr) - (F(x) - F(x')) for every example.
 */
import type { Tensor } from '../runtime';
import { quadrature, type IntegrationMethod } from './quadrature';
import { Explainer, type CommonOptions, type TargetSpec } from './explainer';
import { rowSize, asFloat32 } from './tensors';
import type { GradientEngine } from './engine';

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
  gradientSource: 'graph' | 'fd';
  /** Why finite differences were used. */
  fdReason?: string;
  /** For layer attribution: the tensor attributed, and per-position scores (sum over its last axis). */
  at?: string;
  positionScores?: Tensor;
  runtime: string;
  /** How the model was made batchable, or why it runs one row at a time. */
  batchNotes: string[];
  /** Rows per session run that were used. */
  batchSize: number;
}

export interface IntegratedGradientsResult extends AttributionResult {
  steps: number;
  integration: IntegrationMethod;
  /** F(x') per example (averaged over baselines). */
  baselineOutputs: number[];
  /** sum(attributions) - (F(x) - F(x')) per example. */
  delta: number[];
}

export interface IntegratedGradientsOptions extends CommonOptions {
  /** Interpolation points (default 50). */
  steps?: number;
  /** Quadrature rule (default gausslegendre). */
  integration?: IntegrationMethod;
  /** Baseline, or several (their attributions are averaged). Default: zeros. */
  baselines?: Baseline | Baseline[];
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dims' in v && 'data' in v;
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
    t = await engine.layerValue(value.inputs);
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
    gradientSource: engine.source,
    runtime: explainer.runtime.name,
    batchNotes: engine.batchNotes,
    batchSize: Math.max(1, Math.min(internalBatchSize ?? engine.suggestedBatchSize(), engine.maxRows)),
  };
  if (engine.reason) res.fdReason = engine.reason;
  if (engine.at) {
    res.at = engine.at;
    res.positionScores = positionScores(attributions[engine.at]);
  }
  return res;
}

/** |x - x'| of each row's example, for finite-difference steps. */
function scaleRows(
  xs: Record<string, Float32Array>,
  base: Record<string, Float32Array>,
  attributed: string[],
  feeds: Record<string, Tensor>,
  start: number,
  n: number,
  steps: number,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const w of attributed) {
    const per = rowSize(feeds[w]);
    const data = new Float32Array(n * per);
    for (let j = 0; j < n; j++) {
      const e = Math.floor((start + j) / steps);
      for (let i = 0; i < per; i++) data[j * per + i] = Math.abs(xs[w][e * per + i] - base[w][e * per + i]);
    }
    out[w] = data;
  }
  return out;
}

export async function integratedGradients(
  explainer: Explainer,
  inputs: Record<string, Tensor>,
  opts: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  const batch = explainer.validate(inputs);
  const steps = opts.steps ?? 50;
  const integration = opts.integration ?? 'gausslegendre';
  const { alphas, weights } = quadrature(integration, steps);
  opts.onProgress?.({ phase: 'preparing', done: 0, total: 1 });
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const attributed = engine.attributed;
  const baselines = Array.isArray(opts.baselines) ? opts.baselines : [opts.baselines ?? 'zeros'];
  const classOf = (e: number) => (classes ? classes[e] : 0);

  const xs: Record<string, Float32Array> = {};
  for (const w of attributed) xs[w] = asFloat32(feeds[w]);
  const attr: Record<string, Float32Array> = {};
  for (const w of attributed) attr[w] = new Float32Array(xs[w].length);
  const baselineOut = new Float64Array(batch);
  let fx: Float64Array | undefined;

  for (const [bi, baseline] of baselines.entries()) {
    const base: Record<string, Float32Array> = {};
    for (const w of attributed) base[w] = await baselineFor(explainer, engine, baseline, w, feeds[w]);
    // every (example, point) pair is a row: row j = example * steps + k
    const points = batch * steps;
    // With graph gradients, F(x') (and, once, F(x)) ride along as extra rows of
    // the same runs: fewer session calls, which is what small models pay for.
    // Finite differences would differentiate those rows too, so they run apart.
    const fold = engine.source === 'graph';
    const extra = fold ? batch * (bi === 0 ? 2 : 1) : 0;
    // weighted gradients are summed batch by batch: memory follows internalBatchSize, not steps
    const integral: Record<string, Float64Array> = {};
    for (const w of attributed) integral[w] = new Float64Array(xs[w].length);
    // rows past the points are F(x') then F(x) of each example (points is a multiple of batch)
    const exampleOf = (j: number) => (j < points ? Math.floor(j / steps) : j % batch);
    const run = await explainer.runRows(
      engine,
      points + extra,
      (start, n) => ({
        feeds: pointFeeds(feeds, attributed, start, n, exampleOf, (w, j, out) => {
          const e = exampleOf(j);
          const per = out.length;
          const x = xs[w].subarray(e * per, (e + 1) * per);
          const b = base[w].subarray(e * per, (e + 1) * per);
          if (j >= points + batch) out.set(x);
          else if (j >= points) out.set(b);
          else {
            const a = alphas[j % steps];
            for (let i = 0; i < per; i++) out[i] = b[i] + a * (x[i] - b[i]);
          }
        }),
        classes: Array.from({ length: n }, (_, j) => classOf(exampleOf(start + j))),
        // finite differences take their step from each feature's |x - x'|
        scales: engine.source === 'fd' ? scaleRows(xs, base, attributed, feeds, start, n, steps) : undefined,
      }),
      opts,
      baselines.length > 1 ? `integrating (baseline ${bi + 1} of ${baselines.length})` : 'integrating',
      true,
      (start, n, grads) => {
        for (const w of attributed) {
          const per = rowSize(feeds[w]);
          const g = grads[w];
          for (let j = 0; j < n && start + j < points; j++) {
            const e = Math.floor((start + j) / steps);
            const weight = weights[(start + j) % steps];
            const acc = integral[w].subarray(e * per, (e + 1) * per);
            for (let i = 0; i < per; i++) acc[i] += weight * g[j * per + i];
          }
        }
      },
    );
    for (const w of attributed) {
      for (let i = 0; i < xs[w].length; i++) attr[w][i] += ((xs[w][i] - base[w][i]) * integral[w][i]) / baselines.length;
    }
    if (fold) {
      for (let e = 0; e < batch; e++) baselineOut[e] += run.selected[points + e] / baselines.length;
      if (bi === 0) fx = run.selected.slice(points + batch, points + 2 * batch);
    } else {
      const fb = await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, base), opts, 'baseline outputs', false);
      for (let e = 0; e < batch; e++) baselineOut[e] += fb.selected[e] / baselines.length;
    }
  }
  if (!fx) {
    fx = (await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, xs), opts, 'outputs', false)).selected;
  }
  const attributions: Record<string, Tensor> = {};
  for (const w of attributed) attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: attr[w] };
  const res = resultBase('integrated-gradients', explainer, engine, opts.target, classes, attributions, fx, opts.internalBatchSize);
  return {
    ...res,
    steps,
    integration,
    baselineOutputs: Array.from(baselineOut),
    delta: res.sum.map((s, e) => s - (fx![e] - baselineOut[e])),
  };
}
