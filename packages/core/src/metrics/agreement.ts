/**
 * How alike two attributions are: Spearman's rank correlation (ties take
 * their average rank), the overlap of their top-k elements by magnitude,
 * the relative L2 distance, and SSIM for maps (Wang et al. 2004, a uniform
 * 7x7 window as scikit-image's default). One question each; `agreement`
 * answers all of them for one pair.
 */
import type { Tensor } from '../runtime';
import { asFloat32 } from '../methods/tensors';

/** Ranks 1..n, ties averaged. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(values.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && values[idx[j + 1]] === values[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]] = r;
    i = j + 1;
  }
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  // a constant ranking says nothing about order: no correlation
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`the two attributions have ${a.length} and ${b.length} elements`);
  if (!a.length) throw new Error('the attributions are empty');
}

/** Spearman's rank correlation: Pearson's on the ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength(a, b);
  return pearson(ranks(a), ranks(b));
}

/** Share of the k largest |a| elements that are among the k largest |b| (ties broken by position). */
export function topKOverlap(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  sameLength(a, b);
  if (!Number.isInteger(k) || k < 1 || k > a.length) throw new RangeError(`k must be a whole number from 1 to ${a.length}, got ${k}`);
  const top = (v: ArrayLike<number>) => new Set(Array.from({ length: v.length }, (_, i) => i).sort((x, y) => Math.abs(v[y]) - Math.abs(v[x]) || x - y).slice(0, k));
  const ta = top(a);
  let both = 0;
  for (const i of top(b)) if (ta.has(i)) both++;
  return both / k;
}

/** ||a - b|| / ||b|| (b the reference; 0 when both are 0). */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength(a, b);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? (num === 0 ? 0 : Infinity) : Math.sqrt(num / den);
}

/**
 * SSIM of two maps [height, width] (scikit-image's structural_similarity
 * with its defaults: a uniform window of 7 (smaller maps: their smaller
 * odd side), K1 0.01, K2 0.03, sample covariances, data range the larger of
 * the two maps' max - min), averaged over the windows that fit.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number): number {
  sameLength(a, b);
  if (a.length !== height * width) throw new Error(`a ${height}x${width} map has ${height * width} values, not ${a.length}`);
  let win = Math.min(7, height, width);
  if (win % 2 === 0) win--;
  const range = (v: ArrayLike<number>) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < v.length; i++) {
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
    return hi - lo;
  };
  const L = Math.max(range(a), range(b)) || 1;
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  const np = win * win;
  const cov = np / (np - 1);
  let total = 0;
  let count = 0;
  for (let y = 0; y + win <= height; y++) {
    for (let x = 0; x + win <= width; x++) {
      let ma = 0;
      let mb = 0;
      let aa = 0;
      let bb = 0;
      let ab = 0;
      for (let dy = 0; dy < win; dy++) {
        for (let dx = 0; dx < win; dx++) {
          const i = (y + dy) * width + x + dx;
          ma += a[i];
          mb += b[i];
          aa += a[i] * a[i];
          bb += b[i] * b[i];
          ab += a[i] * b[i];
        }
      }
      ma /= np;
      mb /= np;
      const va = cov * (aa / np - ma * ma);
      const vb = cov * (bb / np - mb * mb);
      const vab = cov * (ab / np - ma * mb);
      total += ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}

/** Example e's per-pixel |attribution| map of an [N, C, H, W] tensor, summed over channels (what SSIM compares); undefined for other ranks. */
export function pixelMagnitudes(t: Tensor, e: number): { map: Float64Array; h: number; w: number } | undefined {
  if (t.dims.length !== 4) return undefined;
  const [, c, h, w] = t.dims;
  const base = e * c * h * w;
  const map = new Float64Array(h * w);
  const d = asFloat32(t);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) map[i] += Math.abs(d[base + k * h * w + i]);
  return { map, h, w };
}

export interface Agreement {
  spearman: number;
  /** Spearman's of the magnitudes (sign-blind: Adebayo et al.'s absolute maps). */
  spearmanAbs: number;
  topK: number;
  k: number;
  relativeL2: number;
}

/** Every measure above for one pair (b the reference); k defaults to a tenth of the elements (at least 1). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>, k = Math.max(1, Math.round(a.length / 10))): Agreement {
  return {
    spearman: spearman(a, b),
    spearmanAbs: spearman(Array.from(a, Math.abs), Array.from(b, Math.abs)),
    topK: topKOverlap(a, b, k),
    k,
    relativeL2: relativeL2(a, b),
  };
}
