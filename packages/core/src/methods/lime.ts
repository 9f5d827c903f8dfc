/**
 * LIME (Ribeiro et al. 2016), over the features of `featureMask`: samples of
 * the interpretable binary representation z (each feature kept with
 * probability 1/2, as Captum 0.8's default perturbation; the example itself,
 * all ones, is the first sample, as in the lime package), each turned into
 * an input (features off take the baseline), weighted by an exponential
 * kernel exp(-d^2 / (2 w^2)) on the cosine distance d between z and all
 * ones (w = kernelWidth, default 0.25, the lime package's for images), and a
 * weighted linear surrogate fitted to the outputs: least squares, or ridge
 * with `ridge` > 0. The attributions are its coefficients; its fit (weighted
 * R^2) and intercept come with them, so a poor surrogate is seen as one.
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
  applyCoalition,
  type PerturbationOptions,
  type PerturbationResultExtras,
} from './perturbation';
import type { Explainer } from './explainer';
import { checkSamples, type AttributionResult } from './common';
import { randomSource } from './random';
import { weightedLeastSquares, SingularSystemError } from './leastSquares';

export interface LimeOptions extends PerturbationOptions {
  /** Perturbed samples per example (default 1000), the example itself included. */
  samples?: number;
  /** The exponential kernel's width on the cosine distance (default 0.25). */
  kernelWidth?: number;
  /** Ridge penalty on the coefficients (default 0: weighted least squares). */
  ridge?: number;
}

export const LIME_SAMPLES = 1000;

export interface LimeExtras {
  /** The surrogate's weighted R^2 per example (1: the model is linear in the features around x). */
  r2: number[];
  /** The surrogate's intercept per example (its value with every feature off). */
  intercept: number[];
}

export async function lime(explainer: Explainer, inputs: Record<string, Tensor>, opts: LimeOptions = {}): Promise<AttributionResult & PerturbationResultExtras & LimeExtras> {
  const n = checkSamples(opts.samples ?? LIME_SAMPLES);
  const width = opts.kernelWidth ?? 0.25;
  if (!(width > 0) || !Number.isFinite(width)) throw new RangeError(`kernelWidth must be a finite number > 0, got ${width}`);
  const ridge = opts.ridge ?? 0;
  if (!(ridge >= 0) || !Number.isFinite(ridge)) throw new RangeError(`ridge must be a finite number >= 0, got ${ridge}`);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const feats = features(setup, opts.featureMask);
  const base = replacements(setup, opts.baselines);
  const { uniform } = randomSource(opts.seed ?? 1);
  const samples = feats.map((f) =>
    Array.from({ length: n }, (_, s) => (s === 0 ? new Uint8Array(f.count).fill(1) : Uint8Array.from({ length: f.count }, () => (uniform() < 0.5 ? 1 : 0)))),
  );
  const { values, starts, count } = await evaluateBlocks(
    setup,
    feats.map(() => n),
    (e, k, name, row) => {
      if (k > 0) applyCoalition(row, feats[e].ids[name], samples[e][k], rowOf(base[name], e, row.length));
    },
    opts,
    'lime',
  );
  const outputs = Float64Array.from(starts, (s) => values[s]);
  const r2: number[] = [];
  const intercept: number[] = [];
  const perFeature = feats.map((f, e) => {
    const M = f.count;
    const X = samples[e].map((z) => Float64Array.from(z));
    const y = values.slice(starts[e], starts[e] + n);
    const w = Float64Array.from(samples[e], (z) => {
      const on = z.reduce((a, b) => a + b, 0);
      const d = on ? 1 - on / Math.sqrt(M * on) : 1;
      return Math.exp(-(d * d) / (2 * width * width));
    });
    try {
      const fit = weightedLeastSquares(X, y, w, { intercept: true, ridge });
      r2.push(fit.r2);
      intercept.push(fit.intercept);
      return fit.coef;
    } catch (err) {
      if (err instanceof SingularSystemError) throw new Error(`LIME: ${n} samples do not determine a surrogate over ${M} features (${err.message}); take more samples, or set a ridge penalty`);
      throw err;
    }
  });
  const res = perturbationResult('lime', setup, opts, spreadFeatures(setup, feats, perFeature), outputs, count, perFeature);
  return { ...res, r2, intercept };
}
