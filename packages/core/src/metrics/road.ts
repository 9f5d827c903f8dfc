/**
 * ROAD, Remove And Debias (Rong et al. 2022): a removal curve for images
 * whose removed pixels are not set to a constant (which a model reads as a
 * telltale shape, leaking the very mask being tested) but imputed from their
 * neighbours by noisy linear imputation: every removed pixel equals the
 * weighted mean of its eight neighbours (1/6 for the four direct ones,
 * 1/12 for the diagonals, renormalised at the border), solved jointly over
 * all removed pixels of a channel (successive over-relaxation), plus
 * Gaussian noise. Pixels are removed most relevant first (MoRF) or least
 * (LeRF) by their attribution summed over channels, at each fraction asked.
 * Images are [N, C, H, W].
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from '../methods/explainer';
import { perturbationSetup, evaluateBlocks } from '../methods/perturbation';
import { asFloat32 } from '../methods/tensors';
import { randomSource } from '../methods/random';
import { checkAttributions, trapezoidArea } from './common';

export interface RoadOptions extends CommonOptions {
  order?: 'most' | 'least';
  /** Fractions of pixels removed. Default 0.1, 0.2, ..., 0.9. */
  fractions?: number[];
  /** Standard deviation of the noise added to imputed pixels (ROAD's debiasing noise). Default 0.01. */
  noise?: number;
  seed?: number;
}

export interface RoadResult {
  order: 'most' | 'least';
  fractions: number[];
  /** The explained output at each fraction (the first: nothing removed), per example. */
  values: number[][];
  auc: number[];
  evaluations: number;
  classes?: number[];
}

const NEIGHBOURS: [number, number, number][] = [
  [-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6],
  [-1, -1, 1 / 12], [-1, 1, 1 / 12], [1, -1, 1 / 12], [1, 1, 1 / 12],
];

/**
 * One channel [h, w] with the pixels where removed[i] = 1 replaced by the
 * solution of x_i = sum_j w_ij x_j / sum_j w_ij over their neighbours (SOR
 * until the largest change is below 1e-7 of the image's range, at most 10000
 * sweeps), in place. Exact for an image linear in its coordinates (the
 * stencil is symmetric) where the removed pixels are surrounded by kept ones.
 */
export function imputeLinear(img: Float32Array, h: number, w: number, removed: Uint8Array): void {
  const unknown: number[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < h * w; i++) {
    if (removed[i]) unknown.push(i);
    else {
      lo = Math.min(lo, img[i]);
      hi = Math.max(hi, img[i]);
    }
  }
  if (!unknown.length) return;
  if (unknown.length === h * w) {
    img.fill(0);
    return;
  }
  // start from the kept pixels' mean
  const start = Number.isFinite(lo) ? (lo + hi) / 2 : 0;
  for (const i of unknown) img[i] = start;
  const tol = 1e-7 * Math.max(hi - lo, 1e-12);
  const omega = 1.8;
  for (let sweep = 0; sweep < 10000; sweep++) {
    let change = 0;
    for (const i of unknown) {
      const y = Math.floor(i / w);
      const x = i % w;
      let sum = 0;
      let weight = 0;
      for (const [dy, dx, wt] of NEIGHBOURS) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        sum += wt * img[yy * w + xx];
        weight += wt;
      }
      const next = img[i] + omega * (sum / weight - img[i]);
      change = Math.max(change, Math.abs(next - img[i]));
      img[i] = next;
    }
    if (change <= tol) break;
  }
}

export async function roadCurve(explainer: Explainer, inputs: Record<string, Tensor>, attributions: Record<string, Tensor>, opts: RoadOptions = {}): Promise<RoadResult> {
  const order = opts.order ?? 'most';
  const fractions = opts.fractions ?? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  if (!fractions.length || fractions.some((f) => !(f > 0 && f < 1))) throw new RangeError(`fractions must lie strictly between 0 and 1, got ${fractions.join(', ')}`);
  const noise = opts.noise ?? 0.01;
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`noise must be a non-negative number, got ${noise}`);
  const setup = await perturbationSetup(explainer, inputs, opts);
  const { batch, attributed, feeds } = setup;
  if (attributed.length !== 1 || feeds[attributed[0]].dims.length !== 4) throw new Error(`ROAD imputes pixels of one image input [N, C, H, W]; the attributed inputs are ${attributed.map((a) => `'${a}' [${feeds[a].dims.join(', ')}]`).join(', ')}`);
  checkAttributions(attributions, attributed, feeds, 'ROAD');
  const name = attributed[0];
  const [, C, H, W] = feeds[name].dims;
  const P = H * W;
  const rng = randomSource(opts.seed ?? 1);
  // per example, the pixels in removal order
  const orders = Array.from({ length: batch }, (_, e) => {
    const a = asFloat32(attributions[name]).subarray(e * C * P, (e + 1) * C * P);
    const score = new Float64Array(P);
    for (let c = 0; c < C; c++) for (let i = 0; i < P; i++) score[i] += a[c * P + i];
    return Array.from({ length: P }, (_, i) => i).sort((x, y) => (order === 'most' ? score[y] - score[x] : score[x] - score[y]) || x - y);
  });
  const { values, starts, count } = await evaluateBlocks(
    setup,
    new Array(batch).fill(fractions.length + 1),
    (e, k, _name, row) => {
      if (k === 0) return;
      const removed = new Uint8Array(P);
      const n = Math.round(fractions[k - 1] * P);
      for (let j = 0; j < n; j++) removed[orders[e][j]] = 1;
      const img = row as Float32Array;
      for (let c = 0; c < C; c++) {
        const ch = img.subarray(c * P, (c + 1) * P);
        imputeLinear(ch, H, W, removed);
        if (noise > 0) for (let i = 0; i < P; i++) if (removed[i]) ch[i] += noise * rng.normal();
      }
    },
    opts,
    'ROAD',
  );
  const xs = [0, ...fractions];
  const curves = Array.from({ length: batch }, (_, e) => Array.from(values.subarray(starts[e], starts[e] + fractions.length + 1)));
  const auc = curves.map((v) => trapezoidArea(xs, v));
  return { order, fractions: xs, values: curves, auc, evaluations: count, classes: setup.classes };
}
