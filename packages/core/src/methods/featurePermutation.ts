/**
 * Feature permutation (Breiman 2001; Captum 0.8's FeaturePermutation): over
 * a batch of examples, each feature's values are shuffled among the
 * examples (a random permutation that moves at least one, as Captum's),
 * and each example gets F(x) - F(x with that feature taken from another
 * example). It needs at least two examples, and the same features for all.
 */
import type { Tensor } from '../runtime';
import {
  perturbationSetup,
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
import { randomSource } from './random';

export type FeaturePermutationOptions = Omit<PerturbationOptions, 'baselines'>;

/** A uniformly random permutation of 0..n-1 other than the identity (n >= 2). */
function shuffle(n: number, uniform: () => number): Int32Array {
  for (;;) {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const k = Math.floor(uniform() * (i + 1));
      [p[i], p[k]] = [p[k], p[i]];
    }
    if (p.some((v, i) => v !== i)) return p;
  }
}

export async function featurePermutation(explainer: Explainer, inputs: Record<string, Tensor>, opts: FeaturePermutationOptions = {}): Promise<AttributionResult & PerturbationResultExtras> {
  const setup = await perturbationSetup(explainer, inputs, opts);
  const { batch, feeds } = setup;
  if (batch < 2) throw new Error(`feature permutation shuffles features among the examples of a batch: it needs at least 2 examples, got ${batch}`);
  const feats = features(setup, opts.featureMask);
  const M = feats[0].count;
  for (const [e, f] of feats.entries()) {
    const same = f.count === M && Object.entries(f.ids).every(([k, v]) => v.every((id, i) => id === feats[0].ids[k][i]));
    if (!same) throw new Error(`feature permutation needs the same features for every example; example ${e}'s mask differs from example 0's (give one mask for all)`);
  }
  const { uniform } = randomSource(opts.seed ?? 1);
  const perms = Array.from({ length: M }, () => shuffle(batch, uniform));
  // per example: itself, then one row per feature taken from another example
  const { values, starts, count } = await evaluateBlocks(
    setup,
    new Array(batch).fill(M + 1),
    (e, k, name, row) => {
      if (k === 0) return;
      const ids = feats[0].ids[name];
      const donor = rowOf(feeds[name].data, perms[k - 1][e], row.length) as Float32Array;
      for (let i = 0; i < ids.length; i++) if (ids[i] === k - 1) (row as Float32Array)[i] = donor[i];
    },
    opts,
    'feature permutation',
  );
  const outputs = Float64Array.from(starts, (s) => values[s]);
  const perFeature = starts.map((s, e) => Float64Array.from({ length: M }, (_, f) => outputs[e] - values[s + 1 + f]));
  return perturbationResult('feature-permutation', setup, opts, spreadFeatures(setup, feats, perFeature), outputs, count, perFeature);
}
