/**
 * Deletion and insertion curves (Petsiuk et al. 2018; pixel flipping, Samek
 * et al. 2017): features are removed from the input (deletion: start at x,
 * replace by the baseline) or put back into the baseline (insertion), in
 * the order of their attribution, most relevant first (MoRF) or least
 * relevant first (LeRF), and the explained output is read after each step.
 * A feature is an element or a group of a feature mask (featureMask.ts:
 * grid:RxC, slic:N, ids), scored by the sum of its elements' attributions.
 * The area under the curve (trapezoid over the fraction of features
 * changed, 0 to 1) summarises it: for deletion MoRF low is good, for
 * insertion MoRF high is good.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from '../methods/explainer';
import { perturbationSetup, evaluateBlocks, features, replacements, rowOf, type ReplacementValue } from '../methods/perturbation';
import type { FeatureMaskSpec } from '../methods/featureMask';
import { rowSize, asFloat32 } from '../methods/tensors';
import { checkAttributions, trapezoidArea } from './common';
import { blurImage } from './blur';

export interface CurveOptions extends CommonOptions {
  mode?: 'deletion' | 'insertion';
  /** most: most relevant first (MoRF, the default); least: least relevant first (LeRF). */
  order?: 'most' | 'least';
  /** What a removed feature becomes: 'zeros', a constant, a tensor, or { blur: sigma } (a Gaussian blur of an image input, blurImage). Default zeros. */
  baselines?: ReplacementValue | Record<string, ReplacementValue> | { blur: number };
  featureMask?: FeatureMaskSpec;
  /** Points on the curve besides the start: each changes about features/steps more features. Default: every feature, at most 100. */
  steps?: number;
}

export interface CurveResult {
  mode: 'deletion' | 'insertion';
  order: 'most' | 'least';
  /** Fraction of features changed at each point (0 first, 1 last). */
  fractions: number[];
  /** The explained output at each point, per example. */
  values: number[][];
  /** Area under each example's curve (trapezoid over fractions). */
  auc: number[];
  features: number;
  evaluations: number;
  classes?: number[];
}

export async function deletionCurve(explainer: Explainer, inputs: Record<string, Tensor>, attributions: Record<string, Tensor>, opts: CurveOptions = {}): Promise<CurveResult> {
  const mode = opts.mode ?? 'deletion';
  const order = opts.order ?? 'most';
  if (mode !== 'deletion' && mode !== 'insertion') throw new RangeError(`mode must be 'deletion' or 'insertion', got '${mode}'`);
  if (order !== 'most' && order !== 'least') throw new RangeError(`order must be 'most' or 'least', got '${order}'`);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const { batch, attributed, feeds } = setup;
  checkAttributions(attributions, attributed, feeds, mode);
  const feats = features(setup, opts.featureMask);
  const spec = opts.baselines;
  const blur = spec && typeof spec === 'object' && 'blur' in spec ? (spec as { blur: number }).blur : undefined;
  const base = replacements(setup, blur !== undefined ? Object.fromEntries(attributed.map((n) => [n, blurImage(feeds[n], blur)])) : (spec as ReplacementValue | Record<string, ReplacementValue> | undefined));
  const M = feats[0].count;
  if (feats.some((f) => f.count !== M)) throw new Error(`${mode}: every example must have the same number of features`);
  const steps = opts.steps ?? Math.min(M, 100);
  if (!Number.isInteger(steps) || steps < 1 || steps > M) throw new RangeError(`steps must be a whole number from 1 to ${M} (the features), got ${steps}`);
  // features changed after point p (0..steps): rounded evenly, all of them at the end
  const counts = Array.from({ length: steps + 1 }, (_, p) => Math.round((p * M) / steps));
  // each example's features in the order they change: by summed attribution
  const orders = feats.map((f, e) => {
    const score = new Float64Array(M);
    for (const name of attributed) {
      const per = rowSize(feeds[name]);
      const a = asFloat32(attributions[name]).subarray(e * per, (e + 1) * per);
      const ids = f.ids[name];
      for (let i = 0; i < per; i++) score[ids[i]] += a[i];
    }
    const idx = Array.from({ length: M }, (_, i) => i);
    return idx.sort((x, y) => (order === 'most' ? score[y] - score[x] : score[x] - score[y]) || x - y);
  });
  const { values, starts, count } = await evaluateBlocks(
    setup,
    new Array(batch).fill(steps + 1),
    (e, p, name, row) => {
      const changed = new Uint8Array(M);
      for (let k = 0; k < counts[p]; k++) changed[orders[e][k]] = 1;
      const per = row.length;
      const from = rowOf(base[name], e, per) as Float32Array;
      const ids = feats[e].ids[name];
      // deletion: a changed feature takes the baseline; insertion: an unchanged one does
      for (let i = 0; i < per; i++) if (changed[ids[i]] === (mode === 'deletion' ? 1 : 0)) (row as Float32Array)[i] = from[i];
    },
    opts,
    mode,
  );
  const fractions = counts.map((c) => c / M);
  const curves = Array.from({ length: batch }, (_, e) => Array.from(values.subarray(starts[e], starts[e] + steps + 1)));
  const auc = curves.map((v) => trapezoidArea(fractions, v));
  return { mode, order, fractions, values: curves, auc, features: M, evaluations: count, classes: setup.classes };
}
