/**
 * DeepLift with the Rescale rule (Shrikumar et al. 2017), as Captum 0.8's
 * DeepLift: each example and its baseline run in the same session run (the
 * examples first, their baselines after), so every nonlinearity's backward
 * can use (f(x) - f(x')) / (x - x') (grad/ruleSets.ts); the attributions are
 * (x - x') times the multipliers reaching the input, and they sum to
 * F(x) - F(x') (reported as delta, like IG's). Needs graph gradients, and a
 * model that takes several rows per run.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from './explainer';
import { baselineFor, resultBase, pointFeeds, completenessWarnings, type AttributionResult, type Baseline } from './common';
import { asFloat32 } from './tensors';
import { throwIfAborted } from './progress';
import type { CommonOptions } from './explainer';

export interface DeepLiftOptions extends CommonOptions {
  /** The reference input (Captum's baselines): zeros, a constant, or a tensor (one row, or one per example). */
  baselines?: Baseline;
}

export async function deepLift(
  explainer: Explainer,
  inputs: Record<string, Tensor>,
  opts: DeepLiftOptions = {},
): Promise<AttributionResult & { baselineOutputs: number[]; delta: number[] }> {
  const batch = explainer.validate(inputs);
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target, 'gradient', 'deeplift');
  if (engine.maxRows < 2) throw new Error(`DeepLift runs each example with its baseline in one batch, and this model runs one row at a time (${engine.batchNotes.join('; ')})`);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const attributed = engine.attributed;
  const xs: Record<string, Float32Array> = {};
  const base: Record<string, Float32Array> = {};
  for (const w of attributed) {
    xs[w] = asFloat32(feeds[w]);
    base[w] = await baselineFor(explainer, engine, opts.baselines ?? 'zeros', w, feeds[w]);
  }
  const attr: Record<string, Float32Array> = Object.fromEntries(attributed.map((w) => [w, new Float32Array(xs[w].length)]));
  const fx = new Float64Array(batch);
  const fb = new Float64Array(batch);
  // k examples and their k baselines per session run; all of them in one run when a Softmax's rule averages over the whole batch (Captum's)
  const softmax = (explainer.model.graph?.node ?? []).some((n) => n.opType === 'Softmax' && !n.domain);
  const k = softmax ? batch : Math.max(1, Math.min(batch, Math.floor(Math.min(opts.internalBatchSize ?? engine.suggestedBatchSize(), engine.maxRows) / 2) || 1));
  for (let start = 0; start < batch; start += k) {
    throwIfAborted(opts.signal);
    const n = Math.min(k, batch - start);
    // row j < n: example start + j; row n + j: its baseline
    const exampleOf = (j: number) => start + (j % n);
    const rows = pointFeeds(feeds, attributed, 0, 2 * n, exampleOf, (w, j, out) => {
      const e = exampleOf(j);
      const src = j < n ? xs[w] : base[w];
      out.set(src.subarray(e * out.length, (e + 1) * out.length));
    });
    const cls = classes ? Array.from({ length: 2 * n }, (_, j) => classes[exampleOf(j)]) : undefined;
    const res = await engine.run(rows, cls, true, opts.signal);
    for (let j = 0; j < n; j++) {
      fx[start + j] = res.selected[j];
      fb[start + j] = res.selected[n + j];
    }
    for (const w of attributed) {
      const per = xs[w].length / batch;
      const g = res.grads![w];
      for (let j = 0; j < n; j++) {
        const e = start + j;
        for (let i = 0; i < per; i++) attr[w][e * per + i] = (xs[w][e * per + i] - base[w][e * per + i]) * g[j * per + i];
      }
    }
    opts.onProgress?.({ phase: 'deeplift', done: start + n, total: batch });
  }
  const attributions: Record<string, Tensor> = {};
  for (const w of attributed) attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: attr[w] };
  const res = resultBase('deeplift', explainer, engine, opts.target, classes, attributions, fx, opts.internalBatchSize);
  const delta = res.sum.map((s, e) => s - (fx[e] - fb[e]));
  const warnings = completenessWarnings(delta, Array.from(fx, (v, e) => v - fb[e]), engine.source);
  return { ...res, baselineOutputs: Array.from(fb), delta, ...(warnings.length ? { warnings } : {}) };
}
