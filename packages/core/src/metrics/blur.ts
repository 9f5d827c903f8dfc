/**
 * A Gaussian blur of images [N, C, H, W] (separable, kernel radius 3 sigma,
 * borders clamped): the "blurred input" that insertion curves start from
 * and deletion can fill in (Petsiuk et al. 2018), so removed regions keep
 * the image's colours without its detail.
 */
import type { Tensor } from '../runtime';
import { asFloat32 } from '../methods/tensors';

export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`the blur's sigma must be a positive number, got ${sigma}`);
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
}

export function blurImage(t: Tensor, sigma: number): Tensor {
  if (t.dims.length !== 4) throw new Error(`a blurred baseline is made of images [N, C, H, W]; the input is [${t.dims.join(', ')}]`);
  const [N, C, H, W] = t.dims;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const src = asFloat32(t);
  const out = new Float32Array(src.length);
  const tmp = new Float64Array(H * W);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  for (let p = 0; p < N * C; p++) {
    const img = src.subarray(p * H * W, (p + 1) * H * W);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r] * img[y * W + clamp(x + i, W)];
      tmp[y * W + x] = s;
    }
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r] * tmp[clamp(y + i, H) * W + x];
      out[p * H * W + y * W + x] = s;
    }
  }
  return { type: 'float32', dims: [...t.dims], data: out };
}
