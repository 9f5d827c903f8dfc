/**
 * KernelSHAP (Lundberg & Lee 2017), as the shap package's KernelExplainer
 * computes it: a coalition z of features is valued at
 * f(z) = mean over background rows b of F(x where z is on, b elsewhere),
 * and the Shapley values are the weighted least-squares fit of f over
 * coalitions with the Shapley kernel pi(z) = (M-1) / (C(M,|z|) |z| (M-|z|)),
 * the empty and full coalitions held exactly: the values sum to
 * f(all) - f(none) = F(x) - E[F(background)] (efficiency), enforced as shap
 * does by eliminating the last feature's value.
 *
 * When every coalition fits in `samples` (2^M - 2 of them) all are
 * enumerated, and the fit is the exact Shapley values of f. Otherwise
 * coalitions are sampled from the kernel (a size k with probability
 * proportional to 1 / (k (M - k)), then k features at random), each with its
 * complement, and weighted equally.
 */
import type { Tensor } from '../runtime';
import type { TypedArray } from '../onnx/tensor';
import {
  perturbationSetup,
  replacements,
  features,
  evaluateBlocks,
  spreadFeatures,
  perturbationResult,
  rowOf,
  rowsLike,
  applyCoalition,
  type PerturbationOptions,
  type PerturbationResultExtras,
} from './perturbation';
import type { Explainer } from './explainer';
import { checkSamples, type AttributionResult } from './common';
import { randomSource } from './random';
import { weightedLeastSquares, SingularSystemError } from './leastSquares';

export interface KernelShapOptions extends PerturbationOptions {
  /** Coalitions to evaluate (shap's nsamples; default 2M + 2048, as its 'auto'). */
  samples?: number;
  /**
   * Background rows (shap's data): removed features take each row's values
   * in turn and the output is averaged. Per input name when several are
   * attributed. Without it, the baseline is the one background row.
   */
  background?: Tensor | Record<string, Tensor>;
}

export interface KernelShapExtras {
  /** E[F(background)] per example: what the values explain the output's difference from. */
  baselineOutputs: number[];
  /** sum(values) - (F(x) - E[F(background)]) per example: zero up to rounding, by construction. */
  delta: number[];
  /** True when every coalition was enumerated (the values are then the exact Shapley values of f). */
  exact: boolean[];
  /** Coalitions evaluated per example. */
  coalitions: number[];
}

/** Coalitions and their weights for M features. */
function coalitions(M: number, samples: number, uniform: () => number): { on: Uint8Array[]; weight: Float64Array; exact: boolean } {
  const on: Uint8Array[] = [];
  const weights: number[] = [];
  const choose = (n: number, k: number) => {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    return c;
  };
  if (M < 31 && 2 ** M - 2 <= samples) {
    for (let mask = 1; mask < 2 ** M - 1; mask++) {
      const z = new Uint8Array(M);
      let k = 0;
      for (let i = 0; i < M; i++) if (mask & (1 << i)) {
        z[i] = 1;
        k++;
      }
      on.push(z);
      weights.push((M - 1) / (choose(M, k) * k * (M - k)));
    }
    return { on, weight: Float64Array.from(weights), exact: true };
  }
  // sizes k = 1..M-1 with probability proportional to 1 / (k (M - k))
  const p = Array.from({ length: M - 1 }, (_, i) => 1 / ((i + 1) * (M - i - 1)));
  const total = p.reduce((a, b) => a + b, 0);
  const idx = Int32Array.from({ length: M }, (_, i) => i);
  while (on.length + 2 <= Math.max(2, samples)) {
    let u = uniform() * total;
    let k = 1;
    while (k < M - 1 && u > p[k - 1]) {
      u -= p[k - 1];
      k++;
    }
    for (let i = 0; i < k; i++) {
      const r = i + Math.floor(uniform() * (M - i));
      [idx[i], idx[r]] = [idx[r], idx[i]];
    }
    const z = new Uint8Array(M);
    for (let i = 0; i < k; i++) z[idx[i]] = 1;
    on.push(z, z.map((v) => 1 - v));
    weights.push(1, 1);
  }
  return { on, weight: Float64Array.from(weights), exact: false };
}

export async function kernelShap(explainer: Explainer, inputs: Record<string, Tensor>, opts: KernelShapOptions = {}): Promise<AttributionResult & PerturbationResultExtras & KernelShapExtras> {
  if (opts.samples !== undefined) checkSamples(opts.samples);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const feats = features(setup, opts.featureMask);
  // the rows removed features take: the background's (K rows, shared by all examples) or each example's baseline
  let background: Record<string, TypedArray> | undefined;
  let K = 1;
  if (opts.background) {
    if (opts.baselines !== undefined) throw new Error('give a background or baselines to KernelSHAP, not both: the background rows are its baselines');
    const given = 'dims' in opts.background ? (setup.attributed.length === 1 ? { [setup.attributed[0]]: opts.background as Tensor } : undefined) : (opts.background as Record<string, Tensor>);
    if (!given) throw new Error(`the model has ${setup.attributed.length} attributed inputs (${setup.attributed.join(', ')}): give the background per input name`);
    background = {};
    for (const name of setup.attributed) {
      const b = given[name];
      if (!b) throw new Error(`no background given for attributed input '${name}'`);
      const row = setup.feeds[name].dims.slice(1);
      const rowsOk = b.dims.length === row.length + 1 && b.dims.slice(1).every((d, i) => d === row[i]);
      if (!rowsOk) throw new Error(`background for '${name}' has shape [${b.dims.join(', ')}]: its rows must have the input's row shape, [K, ${row.join(', ')}]`);
      if (b.dims[0] < 1) throw new Error(`background for '${name}' has no rows`);
      if (background && Object.keys(background).length && b.dims[0] !== K) throw new Error(`the backgrounds of the attributed inputs have different row counts (${K} and ${b.dims[0]})`);
      K = b.dims[0];
      background[name] = rowsLike(b, { ...setup.feeds[name], dims: [K, ...row] }, K, `the background for '${name}'`);
    }
  }
  const base = background ? undefined : replacements(setup, opts.baselines);
  const removed = (e: number, k: number, name: string, per: number) => rowOf(background ? background[name] : base![name], background ? k : e, per);
  const { uniform } = randomSource(opts.seed ?? 1);
  const plans = feats.map((f) => coalitions(f.count, opts.samples ?? 2 * f.count + 2048, uniform));
  // per example: x, then K rows of the empty coalition, then K rows per coalition
  const { values, starts, count } = await evaluateBlocks(
    setup,
    plans.map((p) => 1 + K * (1 + p.on.length)),
    (e, k, name, row) => {
      if (k === 0) return;
      const c = Math.floor((k - 1) / K);
      const from = removed(e, (k - 1) % K, name, row.length);
      if (c === 0) (row as Float32Array).set(from as Float32Array);
      else applyCoalition(row, feats[e].ids[name], plans[e].on[c - 1], from);
    },
    opts,
    'kernel shap',
  );
  const outputs = Float64Array.from(starts, (s) => values[s]);
  const mean = (e: number, c: number) => {
    let s = 0;
    for (let k = 0; k < K; k++) s += values[starts[e] + 1 + c * K + k];
    return s / K;
  };
  const baselineOutputs = feats.map((_, e) => mean(e, 0));
  const perFeature = feats.map((f, e) => {
    const M = f.count;
    const delta = outputs[e] - baselineOutputs[e];
    if (M === 1) return Float64Array.of(delta);
    const { on, weight } = plans[e];
    // eliminate the last feature: phi_M = delta - sum of the others
    const X = on.map((z) => Float64Array.from({ length: M - 1 }, (_, i) => z[i] - z[M - 1]));
    const y = Float64Array.from(on, (z, c) => mean(e, c + 1) - baselineOutputs[e] - z[M - 1] * delta);
    let fit;
    try {
      fit = weightedLeastSquares(X, y, weight, { intercept: false });
    } catch (err) {
      if (err instanceof SingularSystemError) throw new Error(`KernelSHAP: ${on.length} coalitions do not determine ${M} feature values (${err.message}); take more samples`);
      throw err;
    }
    const phi = new Float64Array(M);
    phi.set(fit.coef);
    phi[M - 1] = delta - fit.coef.reduce((a, b) => a + b, 0);
    return phi;
  });
  const res = perturbationResult('kernel-shap', setup, opts, spreadFeatures(setup, feats, perFeature), outputs, count, perFeature);
  return {
    ...res,
    baselineOutputs,
    delta: res.sum.map((s, e) => s - (outputs[e] - baselineOutputs[e])),
    exact: plans.map((p) => p.exact),
    coalitions: plans.map((p) => p.on.length),
  };
}
