import type { Tensor } from '../runtime';
import { interpolationMatrix } from '../grad/rules/resize';
import { asFloat32 } from './tensors';

/** Bilinear resize of [N, H, W] maps (half-pixel centres, as image libraries and Resize's default do). */
export function upsampleBilinear(t: Tensor, [oh, ow]: [number, number]): Tensor {
  const [n, h, w] = t.dims;
  const coord = (x: number, _l: number, _o: number, s: number) => (x + 0.5) / s - 0.5;
  const mh = interpolationMatrix('linear', h, oh, oh / h, coord, 'floor');
  const mw = interpolationMatrix('linear', w, ow, ow / w, coord, 'floor');
  const src = asFloat32(t);
  const out = new Float32Array(n * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let i = 0; i < h; i++) {
          const wy = mh[y * h + i];
          if (!wy) continue;
          for (let j = 0; j < w; j++) s += wy * mw[x * w + j] * src[(b * h + i) * w + j];
        }
        out[(b * oh + y) * ow + x] = s;
      }
    }
  }
  return { type: 'float32', dims: [n, oh, ow], data: out };
}


/** Nearest-neighbour resize of [N, H, W] maps, source index floor(i * in / out) (PyTorch's 'nearest', Captum's default for Guided Grad-CAM). */
export function upsampleNearest(t: Tensor, [oh, ow]: [number, number]): Tensor {
  const [n, h, w] = t.dims;
  const src = asFloat32(t);
  const out = new Float32Array(n * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      const i = Math.min(h - 1, Math.floor((y * h) / oh));
      for (let x = 0; x < ow; x++) out[(b * oh + y) * ow + x] = src[(b * h + i) * w + Math.min(w - 1, Math.floor((x * w) / ow))];
    }
  }
  return { type: 'float32', dims: [n, oh, ow], data: out };
}
