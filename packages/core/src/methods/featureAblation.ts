/**
 * Feature ablation, as Captum 0.8's FeatureAblation: each feature (an
 * element, or a group sharing an id in `featureMask`) is replaced by the
 * baseline alone, and every element of it gets F(x) - F(x without it).
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

export type FeatureAblationOptions = PerturbationOptions;

export async function featureAblation(explainer: Explainer, inputs: Record<string, Tensor>, opts: FeatureAblationOptions = {}): Promise<AttributionResult & PerturbationResultExtras> {
  const setup = await perturbationSetup(explainer, inputs, opts);
  const feats = features(setup, opts.featureMask);
  const base = replacements(setup, opts.baselines);
  // per example: the example itself, then one row per feature removed
  const { values, starts, count } = await evaluateBlocks(
    setup,
    feats.map((f) => f.count + 1),
    (e, k, name, row) => {
      if (k === 0) return;
      const ids = feats[e].ids[name];
      const from = rowOf(base[name], e, row.length) as Float32Array;
      for (let i = 0; i < ids.length; i++) if (ids[i] === k - 1) (row as Float32Array)[i] = from[i];
    },
    opts,
    'feature ablation',
  );
  const outputs = Float64Array.from(starts, (s) => values[s]);
  const perFeature = feats.map((f, e) => Float64Array.from({ length: f.count }, (_, k) => outputs[e] - values[starts[e] + 1 + k]));
  return perturbationResult('feature-ablation', setup, opts, spreadFeatures(setup, feats, perFeature), outputs, count, perFeature);
}
