/**
 * SLIC superpixels (Achanta et al. 2012) for the perturbation methods'
 * image masks: k-means over (channel values, y, x) started from a regular
 * grid of about n centres, each pixel compared only with the centres within
 * 2S of it (S the grid step), then small or disconnected pieces merged into
 * a neighbour so every superpixel is one connected region.
 *
 * Channel values are rescaled to [0, 1] over the image first (inputs arrive
 * normalised in many ways); compactness weighs space against colour in those
 * units (0.1: a colour difference of 0.1 counts as much as S pixels).
 * Deterministic: no random start.
 */
import type { ImageAxes } from './featureMask';

const ITERATIONS = 10;

export function slic(image: Float32Array, ax: ImageAxes, n: number, compactness = 0.1): { labels: Int32Array; count: number } {
  const { channels: C, height: H, width: W } = ax;
  const P = H * W;
  // pixel-major colour values, rescaled to [0, 1]
  const colour = new Float64Array(P * C);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi > lo ? hi - lo : 1;
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) colour[p * C + c] = (image[ax.channelsLast ? p * C + c : c * P + p] - lo) / span;

  const S = Math.max(1, Math.sqrt(P / n));
  const centres: number[][] = []; // [y, x, colour...]
  for (let y = S / 2; y < H; y += S) {
    for (let x = S / 2; x < W; x += S) {
      const p = Math.min(H - 1, Math.floor(y)) * W + Math.min(W - 1, Math.floor(x));
      centres.push([Math.floor(y), Math.floor(x), ...colour.subarray(p * C, (p + 1) * C)]);
    }
  }
  const K = centres.length;
  const labels = new Int32Array(P).fill(-1);
  const dist = new Float64Array(P);
  const m2 = (compactness / S) ** 2;
  for (let it = 0; it < ITERATIONS; it++) {
    dist.fill(Infinity);
    for (let k = 0; k < K; k++) {
      const [cy, cx] = centres[k];
      for (let y = Math.max(0, Math.floor(cy - 2 * S)); y < Math.min(H, Math.ceil(cy + 2 * S) + 1); y++) {
        for (let x = Math.max(0, Math.floor(cx - 2 * S)); x < Math.min(W, Math.ceil(cx + 2 * S) + 1); x++) {
          const p = y * W + x;
          let dc = 0;
          for (let c = 0; c < C; c++) dc += (colour[p * C + c] - centres[k][2 + c]) ** 2;
          const d = dc + m2 * ((y - cy) ** 2 + (x - cx) ** 2);
          if (d < dist[p]) {
            dist[p] = d;
            labels[p] = k;
          }
        }
      }
    }
    // move every centre to its pixels' mean
    const sums = Array.from({ length: K }, () => new Float64Array(2 + C + 1));
    for (let p = 0; p < P; p++) {
      const s = sums[labels[p]];
      s[0] += Math.floor(p / W);
      s[1] += p % W;
      for (let c = 0; c < C; c++) s[2 + c] += colour[p * C + c];
      s[2 + C] += 1;
    }
    for (let k = 0; k < K; k++) {
      const s = sums[k];
      if (s[2 + C] > 0) centres[k] = Array.from(s.subarray(0, 2 + C), (v) => v / s[2 + C]);
    }
  }
  // pieces under half a superpixel's expected size join a neighbour (skimage's min_size_factor 0.5)
  return connect(labels, H, W, Math.max(1, Math.floor((0.5 * P) / K)));
}

/**
 * Connected pieces of each label, numbered 0..M-1 in scan order; a piece
 * smaller than `minSize` joins the piece scanned just before it that it
 * touches (SLIC's connectivity step).
 */
function connect(labels: Int32Array, H: number, W: number, minSize: number): { labels: Int32Array; count: number } {
  const P = H * W;
  const out = new Int32Array(P).fill(-1);
  let count = 0;
  const queue = new Int32Array(P);
  const nb = (p: number) => {
    const y = Math.floor(p / W);
    const x = p % W;
    const r: number[] = [];
    if (x > 0) r.push(p - 1);
    if (y > 0) r.push(p - W);
    if (x < W - 1) r.push(p + 1);
    if (y < H - 1) r.push(p + W);
    return r;
  };
  for (let start = 0; start < P; start++) {
    if (out[start] >= 0) continue;
    // a neighbour already numbered, to join if this piece is small
    let adjacent = -1;
    for (const q of nb(start)) if (out[q] >= 0) adjacent = out[q];
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    out[start] = count;
    while (head < tail) {
      const p = queue[head++];
      for (const q of nb(p)) {
        if (out[q] < 0 && labels[q] === labels[start]) {
          out[q] = count;
          queue[tail++] = q;
        }
      }
    }
    if (tail < minSize && adjacent >= 0) {
      for (let i = 0; i < tail; i++) out[queue[i]] = adjacent;
    } else {
      count++;
    }
  }
  return { labels: out, count };
}
