/**
 * Feature masks: which elements of the attributed inputs the perturbation
 * methods switch on and off together (Captum's `feature_mask`). Every
 * element of a feature gets that feature's attribution.
 *
 * - 'elements' (the default): each element its own feature; for a tabular
 *   input one per column, for token ids one per token.
 * - 'grid:RxC': an image cut into R x C cells, all channels of a cell one feature.
 * - 'slic:N': about N SLIC superpixels of each example's own image (slic.ts).
 * - a tensor of integer ids shaped like one input row (for every example),
 *   or with one row per example; or such a tensor per input name. Ids are
 *   shared across inputs (a feature may span several), and must run from 0
 *   to M-1 with none skipped: a skipped id would be a feature never varied.
 */
import type { Tensor } from '../runtime';
import { slic } from './slic';
import { isTensor } from './tensors';

export type FeatureMaskSpec = 'elements' | string | Tensor | Record<string, Tensor>;

/** The features of one example: an id per element of each attributed tensor's row, and how many ids there are. */
export interface ExampleFeatures {
  ids: Record<string, Int32Array>;
  count: number;
}

/** An image's axes within one row: channels first ([C,H,W]), last ([H,W,C]) or none ([H,W]). */
export interface ImageAxes {
  channels: number;
  height: number;
  width: number;
  channelsLast: boolean;
}

/**
 * Reads a row shape as an image: [C,H,W] or [H,W,C] with at most 4
 * channels, or [H,W]. Undefined for anything else (a tabular row, tokens).
 */
export function imageAxes(rowDims: number[]): ImageAxes | undefined {
  if (rowDims.length === 2) return { channels: 1, height: rowDims[0], width: rowDims[1], channelsLast: false };
  if (rowDims.length !== 3) return undefined;
  const [a, b, c] = rowDims;
  // where both ends could be channels, the smaller is; a tie is channels first (PyTorch's layout, the common export)
  if (a <= 4 && !(c < a)) return { channels: a, height: b, width: c, channelsLast: false };
  if (c <= 4) return { channels: c, height: a, width: b, channelsLast: true };
  return undefined;
}

/** Pixel labels (H*W) spread over an image row's elements. */
function spreadPixels(labels: Int32Array, ax: ImageAxes, offset: number): Int32Array {
  const { channels: C, height: H, width: W } = ax;
  const ids = new Int32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < H * W; p++) ids[ax.channelsLast ? p * C + c : c * H * W + p] = offset + labels[p];
  }
  return ids;
}

function gridLabels(ax: ImageAxes, rows: number, cols: number): Int32Array {
  const labels = new Int32Array(ax.height * ax.width);
  for (let h = 0; h < ax.height; h++) {
    for (let w = 0; w < ax.width; w++) labels[h * ax.width + w] = Math.floor((h * rows) / ax.height) * cols + Math.floor((w * cols) / ax.width);
  }
  return labels;
}

/** An image-like input's axes, or an error saying why a grid or superpixels do not apply to it. */
function needImage(name: string, rowDims: number[], what: string): ImageAxes {
  const ax = imageAxes(rowDims);
  if (!ax) throw new Error(`${what} masks are for images ([C,H,W], [H,W,C] or [H,W] rows): input '${name}' has rows of shape [${rowDims.join(', ')}]; give a mask file, or leave the default (one feature per element)`);
  return ax;
}

/**
 * The features of every example. `feeds` holds the attributed tensors with
 * their batch first; `batch` examples. Checked before any model run.
 */
export function featureMasks(spec: FeatureMaskSpec | undefined, feeds: Record<string, Tensor>, attributed: string[], batch: number): ExampleFeatures[] {
  const rowDims = (name: string) => feeds[name].dims.slice(1);
  const perRow = (name: string) => rowDims(name).reduce((a, b) => a * b, 1);
  const out: ExampleFeatures[] = [];
  if (spec === undefined || spec === 'elements') {
    for (let e = 0; e < batch; e++) {
      const ids: Record<string, Int32Array> = {};
      let offset = 0;
      for (const name of attributed) {
        const n = perRow(name);
        ids[name] = Int32Array.from({ length: n }, (_, i) => offset + i);
        offset += n;
      }
      out.push({ ids, count: offset });
    }
    return out;
  }
  if (typeof spec === 'string') {
    const grid = /^grid:(\d+)x(\d+)$/.exec(spec);
    const sp = /^slic:(\d+)$/.exec(spec);
    if (!grid && !sp) throw new Error(`feature mask '${spec}' is not one of: elements, grid:RxC (e.g. grid:7x7), slic:N (e.g. slic:50), or a tensor of ids`);
    for (let e = 0; e < batch; e++) {
      const ids: Record<string, Int32Array> = {};
      let offset = 0;
      for (const name of attributed) {
        const ax = needImage(name, rowDims(name), grid ? 'grid' : 'superpixel');
        let labels: Int32Array;
        let count: number;
        if (grid) {
          const [r, c] = [Number(grid[1]), Number(grid[2])];
          if (r < 1 || c < 1 || r > ax.height || c > ax.width) {
            throw new Error(`grid ${r}x${c} does not fit input '${name}' of ${ax.height}x${ax.width} pixels: each of rows and columns must be between 1 and the image's size`);
          }
          labels = gridLabels(ax, r, c);
          count = r * c;
        } else {
          const n = Number(sp![1]);
          if (n < 1 || n > ax.height * ax.width) throw new Error(`slic:${n} asks for ${n} superpixels of an image of ${ax.height * ax.width} pixels ('${name}'): give between 1 and ${ax.height * ax.width}`);
          const per = perRow(name);
          const row = Float32Array.from((feeds[name].data as Float32Array).subarray(e * per, (e + 1) * per));
          ({ labels, count } = slic(row, ax, n));
        }
        ids[name] = spreadPixels(labels, ax, offset);
        offset += count;
      }
      out.push({ ids, count: offset });
    }
    return out;
  }
  // explicit ids
  const given: Record<string, Tensor> = isTensor(spec)
    ? attributed.length === 1
      ? { [attributed[0]]: spec }
      : (() => {
          throw new Error(`the model has ${attributed.length} attributed inputs (${attributed.join(', ')}): give a feature mask per input name`);
        })()
    : spec;
  for (const k of Object.keys(given)) if (!attributed.includes(k)) throw new Error(`feature mask given for '${k}', which is not attributed (attributed: ${attributed.join(', ')})`);
  for (let e = 0; e < batch; e++) {
    const ids: Record<string, Int32Array> = {};
    let offset = 0;
    for (const name of attributed) {
      const n = perRow(name);
      const m = given[name];
      if (!m) {
        // inputs without a mask of their own: one feature per element, after the given ids
        ids[name] = Int32Array.from({ length: n }, (_, i) => -1 - i);
        continue;
      }
      const row = rowDims(name);
      const sameRow = m.dims.length === row.length && m.dims.every((d, i) => d === row[i]);
      const rows = m.dims.length === row.length + 1 && m.dims.slice(1).every((d, i) => d === row[i]) ? m.dims[0] : sameRow ? 1 : -1;
      if (rows !== 1 && rows !== batch) {
        throw new Error(`feature mask for '${name}' has shape [${m.dims.join(', ')}], expected [${row.join(', ')}] (one mask for every example) or [${batch}, ${row.join(', ')}] (one per example)`);
      }
      const src = m.data as ArrayLike<number | bigint>;
      const start = rows === 1 ? 0 : e * n;
      const ex = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = Number(src[start + i]);
        if (!Number.isInteger(v) || v < 0) throw new Error(`feature mask for '${name}' holds ${v} at flat index ${start + i}: ids are integers from 0`);
        ex[i] = v;
      }
      ids[name] = ex;
    }
    // ids must run 0..M-1 with none skipped
    const seen = new Set<number>();
    for (const v of Object.values(ids)) for (const id of v) if (id >= 0) seen.add(id);
    const count = seen.size;
    // (a loop: spreading an image's worth of ids into Math.max overflows the stack)
    let max = -1;
    for (const id of seen) if (id > max) max = id;
    if (max !== count - 1) {
      let missing = 0;
      while (seen.has(missing)) missing++;
      throw new Error(`feature mask ids must run from 0 to M-1 with none skipped${batch > 1 ? ` (example ${e})` : ''}: id ${missing} is missing, ids go up to ${max}`);
    }
    offset = count;
    for (const name of attributed) {
      const v = ids[name];
      if (v.length && v[0] < 0) {
        for (let i = 0; i < v.length; i++) v[i] = offset + i;
        offset += v.length;
      }
    }
    out.push({ ids, count: offset });
  }
  return out;
}
