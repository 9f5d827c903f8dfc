/**
 * Shapley value sampling (Castro et al. 2009; Captum 0.8's
 * ShapleyValueSampling): for each of `samples` random orders of the
 * features, the features are switched from the baseline to the input one by
 * one, and each gets the change it makes; the average over orders estimates
 * its Shapley value. Orders come in antithetic pairs (an order, then its
 * reverse), which cancels much of the sampling error at no cost. Every order
 * telescopes, so the values sum to F(x) - F(baseline) exactly.
 */
import type { Tensor } from '../runtime';
import {
  perturbationSetup,
  replacements,
  features,
  evaluateBlocks,
  spreadFeatures,
  perturbationResult,
  rowOf,
  type PerturbationOptions,
  type PerturbationResultExtras,
} from './perturbation';
import type { Explainer } from './explainer';
import type { AttributionResult } from './common';
import { checkSamples } from './common';
import { randomSource } from './random';

export interface ShapleySamplingOptions extends PerturbationOptions {
  /** Orders of the features sampled (Captum's n_samples, default 25). */
  samples?: number;
}

export const SHAPLEY_SAMPLES = 25;

export async function shapleySampling(explainer: Explainer, inputs: Record<string, Tensor>, opts: ShapleySamplingOptions = {}): Promise<AttributionResult & PerturbationResultExtras & { baselineOutputs: number[]; delta: number[] }> {
  const n = checkSamples(opts.samples ?? SHAPLEY_SAMPLES);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const feats = features(setup, opts.featureMask);
  const base = replacements(setup, opts.baselines);
  const { uniform } = randomSource(opts.seed ?? 1);
  // per example and order: each feature's rank in it
  const ranks = feats.map((f) => {
    const out: Int32Array[] = [];
    for (let t = 0; t < n; t++) {
      if (t % 2 === 1) {
        // the antithetic partner: the previous order reversed
        out.push(out[t - 1].map((r) => f.count - 1 - r));
        continue;
      }
      const order = Int32Array.from({ length: f.count }, (_, i) => i);
      for (let i = f.count - 1; i > 0; i--) {
        const k = Math.floor(uniform() * (i + 1));
        [order[i], order[k]] = [order[k], order[i]];
      }
      const rank = new Int32Array(f.count);
      order.forEach((feature, r) => (rank[feature] = r));
      out.push(rank);
    }
    return out;
  });
  // per example: x, the baseline, then for each order the M-1 inner prefixes
  const { values, starts, count } = await evaluateBlocks(
    setup,
    feats.map((f) => 2 + n * Math.max(0, f.count - 1)),
    (e, k, name, row) => {
      if (k === 0) return;
      const ids = feats[e].ids[name];
      const from = rowOf(base[name], e, row.length) as Float32Array;
      // row k >= 2: order t, prefix s (features of rank < s are on)
      const inner = feats[e].count - 1;
      const t = k === 1 ? -1 : Math.floor((k - 2) / inner);
      const s = k === 1 ? 0 : ((k - 2) % inner) + 1;
      for (let i = 0; i < ids.length; i++) if (t < 0 || ranks[e][t][ids[i]] >= s) (row as Float32Array)[i] = from[i];
    },
    opts,
    'shapley sampling',
  );
  const outputs = Float64Array.from(starts, (s) => values[s]);
  const baselineOutputs = starts.map((s) => values[s + 1]);
  const perFeature = feats.map((f, e) => {
    const M = f.count;
    const phi = new Float64Array(M);
    const at = (t: number, s: number) => (s === 0 ? baselineOutputs[e] : s === M ? outputs[e] : values[starts[e] + 2 + t * (M - 1) + s - 1]);
    for (let t = 0; t < n; t++) {
      const rank = ranks[e][t];
      for (let feature = 0; feature < M; feature++) phi[feature] += at(t, rank[feature] + 1) - at(t, rank[feature]);
    }
    return phi.map((v) => v / n);
  });
  const res = perturbationResult('shapley-sampling', setup, opts, spreadFeatures(setup, feats, perFeature), outputs, count, perFeature);
  return { ...res, baselineOutputs, delta: res.sum.map((s, e) => s - (outputs[e] - baselineOutputs[e])) };
}
