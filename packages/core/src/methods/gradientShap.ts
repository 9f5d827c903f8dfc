/** GradientSHAP (expected gradients). */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions } from './explainer';
import { rowSize, asFloat32 } from './tensors';
import { checkSamples, checkStdev, baselineFor, pointFeeds, exampleRows, resultBase, type AttributionResult, type Baseline } from './common';
import { randomSource } from './random';

export interface GradientShapOptions extends CommonOptions {
  /** The baseline distribution: a tensor whose rows are drawn from (or one baseline). Default: zeros. */
  baselines?: Baseline;
  /** Samples per example (default 5, as in Captum). */
  samples?: number;
  /** Standard deviation of Gaussian noise added to the input for each sample (default 0), as Captum's stdevs. */
  stdev?: number;
  seed?: number;
}

/**
 * GradientSHAP (expected gradients): for each sample, a baseline drawn at
 * random from the given rows and a point at a random alpha between it and the
 * input; the attribution is the mean of gradient * (x - baseline). Its delta
 * compares the sum with F(x) minus the mean F over the drawn baselines.
 */
export async function gradientShap(explainer: Explainer, inputs: Record<string, Tensor>, opts: GradientShapOptions = {}): Promise<AttributionResult & { delta: number[]; baselineOutputs: number[] }> {
  const samples = checkSamples(opts.samples ?? 5);
  const stdev = checkStdev(opts.stdev ?? 0);
  const rnd = randomSource(opts.seed ?? 1);
  const batch = explainer.validate(inputs);
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const attributed = engine.attributed;
  // the distribution: all rows of each baseline tensor
  const dist: Record<string, { data: Float32Array; rows: number }> = {};
  for (const w of attributed) {
    const spec = opts.baselines ?? 'zeros';
    const value = typeof spec === 'object' && !('dims' in spec) && !('inputs' in spec) ? (spec as Record<string, unknown>)[w] : spec;
    const per = rowSize(feeds[w]);
    if (value && typeof value === 'object' && 'dims' in (value as object)) {
      const t = value as Tensor;
      if (rowSize(t) !== per) throw new Error(`baselines for '${w}' have rows of ${rowSize(t)} values, the input has ${per}`);
      dist[w] = { data: asFloat32(t), rows: t.dims[0] };
    } else {
      const one = await baselineFor(explainer, engine, (value ?? 'zeros') as Baseline, w, { ...feeds[w], dims: [1, ...feeds[w].dims.slice(1)] });
      dist[w] = { data: one, rows: 1 };
    }
  }
  const rows = Math.max(...Object.values(dist).map((d) => d.rows));
  // draw (baseline row, alpha) per sample, the same draw for every attributed tensor
  const draws = Array.from({ length: batch * samples }, () => ({ b: Math.floor(rnd.uniform() * rows), a: rnd.uniform() }));
  const xs: Record<string, Float32Array> = {};
  for (const w of attributed) xs[w] = asFloat32(feeds[w]);
  const baseRow = (w: string, b: number, per: number) => dist[w].data.subarray((b % dist[w].rows) * per, ((b % dist[w].rows) + 1) * per);
  // With stdev, each sample's input is x + noise, as Captum's GradientShap and SHAP's
  // GradientExplainer (local smoothing) do: the point is b + a (x' - b) and the
  // attribution grad * (x' - b). The noise is drawn up front (sample by sample,
  // tensor by tensor, element by element), so the attribution sees the same x'.
  const noisy: Record<string, Float32Array> = {};
  if (stdev) {
    for (const w of attributed) noisy[w] = new Float32Array(batch * samples * rowSize(feeds[w]));
    for (let j = 0; j < batch * samples; j++) {
      for (const w of attributed) {
        const per = rowSize(feeds[w]);
        const x = xs[w].subarray(Math.floor(j / samples) * per, (Math.floor(j / samples) + 1) * per);
        for (let i = 0; i < per; i++) noisy[w][j * per + i] = x[i] + stdev * rnd.normal();
      }
    }
  }
  const inputOf = (w: string, j: number, per: number) =>
    stdev ? noisy[w].subarray(j * per, (j + 1) * per) : xs[w].subarray(Math.floor(j / samples) * per, (Math.floor(j / samples) + 1) * per);
  const { grads } = await explainer.runRows(
    engine,
    batch * samples,
    (start, n) => ({
      feeds: pointFeeds(feeds, attributed, start, n, (j) => Math.floor(j / samples), (w, j, out) => {
        const per = out.length;
        const { b, a } = draws[j];
        const x = inputOf(w, j, per);
        const base = baseRow(w, b, per);
        for (let i = 0; i < per; i++) out[i] = base[i] + a * (x[i] - base[i]);
      }),
      classes: Array.from({ length: n }, (_, j) => (classes ? classes[Math.floor((start + j) / samples)] : 0)),
    }),
    opts,
    'gradient shap',
  );
  const attributions: Record<string, Tensor> = {};
  for (const w of attributed) {
    const per = rowSize(feeds[w]);
    const data = new Float32Array(batch * per);
    for (let e = 0; e < batch; e++) {
      for (let s = 0; s < samples; s++) {
        const j = e * samples + s;
        const base = baseRow(w, draws[j].b, per);
        const x = inputOf(w, j, per);
        for (let i = 0; i < per; i++) data[e * per + i] += (grads[w][j * per + i] * (x[i] - base[i])) / samples;
      }
    }
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data };
  }
  // F(x) and F at every drawn baseline
  const fx = await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, xs), { ...opts, onProgress: undefined }, 'outputs', false);
  const fb = await explainer.runRows(engine, batch * samples, (start, n) => ({ feeds: pointFeeds(feeds, attributed, start, n, (j) => Math.floor(j / samples), (w, j, out) => out.set(baseRow(w, draws[j].b, out.length))), classes: Array.from({ length: n }, (_, j) => (classes ? classes[Math.floor((start + j) / samples)] : 0)) }), { ...opts, onProgress: undefined }, 'baseline outputs', false);
  const res = resultBase('gradient-shap', explainer, engine, opts.target, classes, attributions, fx.selected, opts.internalBatchSize);
  const meanBase = Array.from({ length: batch }, (_, e) => {
    let s = 0;
    for (let k = 0; k < samples; k++) s += fb.selected[e * samples + k];
    return s / samples;
  });
  // the baseline expectation E[F(x')] over the draws: what the attributions' sum is compared with
  return { ...res, baselineOutputs: meanBase, delta: res.sum.map((s, e) => s - (fx.selected[e] - meanBase[e])) };
}
