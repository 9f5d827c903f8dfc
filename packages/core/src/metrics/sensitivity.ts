/**
 * Sensitivity-max (Yeh et al. 2019), as Captum 0.8's
 * captum.metrics.sensitivity_max: how far an explanation moves when the
 * input moves a little. Each example is perturbed `samples` times by
 * uniform noise in [-radius, radius] (Captum's default_perturb_func), the
 * method explains every perturbed row (one batch, the target each example's
 * own), and the metric is the largest ||expl(x') - expl(x)|| / ||expl(x)||
 * (Frobenius norm over all attributed tensors of a row; a zero norm divides
 * by 1, as Captum).
 */
import type { Tensor } from '../runtime';
import type { Explainer } from '../methods/explainer';
import { explainWith, type ExplainOptions, type ExplainResult } from '../methods/dispatch';
import { rowSize, asFloat32, gatherRows } from '../methods/tensors';
import { randomSource } from '../methods/random';
import { perturbationsFor } from './common';

/**
 * The method's own options (samples, seed: SmoothGrad's, say) are the
 * explanation's; the metric's are named apart: perturbSamples, radius,
 * perturbations, perturbSeed.
 */
export interface SensitivityOptions extends ExplainOptions {
  /** Perturbations per example (Captum's n_perturb_samples). Default 10. */
  perturbSamples?: number;
  /** Seed of the drawn noise. Default 1. */
  perturbSeed?: number;
  /** Half-width of the uniform noise (Captum's perturb_radius). Default 0.02. */
  radius?: number;
  /** The noise added, per attributed input: [batch * samples, ...row], example-major. Default: drawn uniformly. */
  perturbations?: Record<string, Tensor>;
}

export interface SensitivityResult {
  /** Per example. */
  sensitivity: number[];
  samples: number;
  /** The explanation at the inputs themselves. */
  explanation: ExplainResult;
}

const norm = (parts: Float32Array[], sub?: Float32Array[]) => {
  let s = 0;
  parts.forEach((p, k) => {
    for (let i = 0; i < p.length; i++) s += (p[i] - (sub ? sub[k][i] : 0)) ** 2;
  });
  return Math.sqrt(s);
};

export async function sensitivityMax(explainer: Explainer, inputs: Record<string, Tensor>, opts: SensitivityOptions = {}): Promise<SensitivityResult> {
  const { perturbSamples: nOpt, radius: rOpt, perturbations: given, perturbSeed, ...explainOpts } = opts;
  const n = nOpt ?? 10;
  const radius = rOpt ?? 0.02;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`perturbSamples must be a positive whole number, got ${n}`);
  if (!(radius > 0) || !Number.isFinite(radius)) throw new RangeError(`radius must be a positive number, got ${radius}`);
  const batch = explainer.validate(inputs);
  const at = await explainWith(explainer, inputs, explainOpts);
  const names = Object.keys(at.attributions);
  const attributed = names.filter((k) => inputs[k]);
  if (attributed.length !== names.length) throw new Error(`sensitivity-max perturbs the model's inputs; the explanation is at a layer (${names.join(', ')}): explain the inputs`);
  const rng = randomSource(perturbSeed ?? 1);
  const noise = perturbationsFor(given, attributed, inputs, batch, n, () => radius * (2 * rng.uniform() - 1), 'perturbations');
  // every (example, sample) row: the example plus its noise; other inputs repeated; targets the example's own
  const rows = Array.from({ length: batch * n }, (_, j) => Math.floor(j / n));
  const perturbed: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    const t = gatherRows(v, rows);
    if (noise[k]) {
      const d = new Float32Array(asFloat32(t));
      for (let i = 0; i < d.length; i++) d[i] += noise[k][i];
      perturbed[k] = { type: 'float32', dims: t.dims, data: d };
    } else perturbed[k] = t;
  }
  // a baseline with a row per example follows its example
  let baselines = explainOpts.baselines;
  if (baselines && typeof baselines === 'object' && 'dims' in baselines && (baselines as Tensor).dims[0] === batch && batch > 1) baselines = gatherRows(baselines as Tensor, rows);
  const classes = at.classes;
  const moved = await explainWith(explainer, perturbed, { ...explainOpts, baselines, target: classes ? rows.map((e) => classes[e]) : explainOpts.target } as ExplainOptions);
  const sensitivity: number[] = [];
  for (let e = 0; e < batch; e++) {
    const base = attributed.map((k) => asFloat32(at.attributions[k]).subarray(e * rowSize(at.attributions[k]), (e + 1) * rowSize(at.attributions[k])));
    const scale = norm(base) || 1;
    let worst = 0;
    for (let s = 0; s < n; s++) {
      const j = e * n + s;
      const row = attributed.map((k) => asFloat32(moved.attributions[k]).subarray(j * rowSize(moved.attributions[k]), (j + 1) * rowSize(moved.attributions[k])));
      worst = Math.max(worst, norm(row, base) / scale);
    }
    sensitivity.push(worst);
  }
  return { sensitivity, samples: n, explanation: at };
}
