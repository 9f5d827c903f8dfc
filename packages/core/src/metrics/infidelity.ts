/**
 * Infidelity (Yeh et al. 2019), as Captum 0.8's captum.metrics.infidelity:
 * the expected squared error between an attribution's prediction of the
 * output change under a perturbation I, sum(attribution * I), and the
 * change itself, F(x) - F(x - I). With multiplyByInputs (Captum's
 * infidelity_perturb_func_decorator default) the perturbation is divided by
 * x - baseline first, so that attributions that already multiply by the
 * input (IG, input x gradient, DeepLift) are judged as gradients are; with
 * normalize, the attribution is rescaled by the best beta first (Captum's
 * normalize=True). Every F runs through the forward engine in batches.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from '../methods/explainer';
import { perturbationSetup, evaluateBlocks, rowOf } from '../methods/perturbation';
import { rowSize, asFloat32 } from '../methods/tensors';
import { randomSource } from '../methods/random';
import { baselineRows, checkAttributions, perturbationsFor } from './common';

export interface InfidelityOptions extends CommonOptions {
  /** Perturbations per example (Captum's n_perturb_samples). Default 10. */
  samples?: number;
  /**
   * The perturbations I, per attributed input: [batch * samples, ...row], example-major (row e * samples + s),
   * as Captum's repeat_interleave lays them out. Default: Gaussian noise of standard deviation `noiseStd`.
   */
  perturbations?: Record<string, Tensor>;
  /** Standard deviation of the default Gaussian perturbations. Default 0.003 (Captum's tutorial). */
  noiseStd?: number;
  /** Divide the perturbation by x - baseline (zero differences divide by 1, Captum's safe_div). Default true. */
  multiplyByInputs?: boolean;
  /** The baseline multiplyByInputs divides by: 'zeros', a number, or a tensor per input (one row or one per example). Default zeros. */
  baselines?: 'zeros' | number | Record<string, Tensor>;
  /** Rescale the attributions by the beta that fits the output changes best (Captum's normalize). Default false. */
  normalize?: boolean;
  seed?: number;
}

export interface InfidelityResult {
  /** Per example. */
  infidelity: number[];
  samples: number;
  /** Model evaluations (one per example and perturbation, and F(x)). */
  evaluations: number;
  classes?: number[];
}

export async function infidelity(explainer: Explainer, inputs: Record<string, Tensor>, attributions: Record<string, Tensor>, opts: InfidelityOptions = {}): Promise<InfidelityResult> {
  const n = opts.samples ?? 10;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`samples must be a positive whole number, got ${n}`);
  const std = opts.noiseStd ?? 0.003;
  if (!(std > 0) || !Number.isFinite(std)) throw new RangeError(`noiseStd must be a positive number, got ${std}`);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const { batch, attributed, feeds } = setup;
  checkAttributions(attributions, attributed, feeds, 'infidelity');
  const rng = randomSource(opts.seed ?? 1);
  const perturbations = perturbationsFor(opts.perturbations, attributed, feeds, batch, n, () => std * rng.normal(), 'perturbations');
  // x - I for every (example, sample): row 0 of each block is x itself
  const { values, starts, count } = await evaluateBlocks(
    setup,
    new Array(batch).fill(n + 1),
    (e, k, name, row) => {
      if (k === 0) return;
      const per = row.length;
      const p = rowOf(perturbations[name], e * n + k - 1, per) as Float32Array;
      for (let i = 0; i < per; i++) (row as Float32Array)[i] -= p[i];
    },
    opts,
    'infidelity',
  );
  const base = opts.multiplyByInputs === false ? undefined : baselineRows(opts.baselines, attributed, feeds, batch);
  const out: number[] = [];
  for (let e = 0; e < batch; e++) {
    const fx = values[starts[e]];
    let aa = 0;
    let ab = 0;
    let bb = 0;
    let sq = 0;
    for (let s = 0; s < n; s++) {
      let a = 0;
      for (const name of attributed) {
        const per = rowSize(feeds[name]);
        const attr = asFloat32(attributions[name]).subarray(e * per, (e + 1) * per);
        const p = rowOf(perturbations[name], e * n + s, per) as Float32Array;
        const x = rowOf(feeds[name].data as Float32Array, e, per) as Float32Array;
        const b = base?.[name].subarray(e * per, (e + 1) * per);
        for (let i = 0; i < per; i++) {
          // Captum's decorator: (x - (x - I)) / (x - baseline), a zero difference dividing by 1
          const d = b ? x[i] - b[i] : 1;
          a += attr[i] * (p[i] / (d === 0 ? 1 : d));
        }
      }
      const change = fx - values[starts[e] + 1 + s];
      aa += a * a;
      ab += a * change;
      bb += change * change;
      sq += (a - change) ** 2;
    }
    if (opts.normalize) {
      const beta = aa === 0 ? ab : ab / aa;
      out.push((beta * beta * aa - 2 * beta * ab + bb) / n);
    } else {
      out.push(sq / n);
    }
  }
  return { infidelity: out, samples: n, evaluations: count, classes: setup.classes };
}
