/**
 * Occlusion (Zeiler & Fergus 2014), as Captum 0.8's Occlusion: a window
 * (`sliding_window_shapes`) slides over each example's row in steps of
 * `strides`; each position replaces the window by the baseline, and every
 * element gets the average of F(x) - F(x occluded) over the windows that
 * cover it. A window's last position along an axis may run past the end, and
 * is cut there, as in Captum (ceil((size - window) / stride) + 1 positions).
 */
import type { Tensor } from '../runtime';
import { imageAxes } from './featureMask';
import {
  perturbationSetup,
  replacements,
  evaluateBlocks,
  perturbationResult,
  rowOf,
  type PerturbationOptions,
  type PerturbationResultExtras,
} from './perturbation';
import type { Explainer } from './explainer';
import type { AttributionResult } from './common';

export interface OcclusionOptions extends Omit<PerturbationOptions, 'featureMask'> {
  /**
   * The window over one row (Captum's sliding_window_shapes), one size per
   * axis; for an image, [height, width] may be given alone (the window then
   * takes every channel). Per input name when several are attributed.
   */
  window: number[] | Record<string, number[]>;
  /** Steps between window positions, per axis like `window`, or one for every axis (default 1). */
  strides?: number | number[] | Record<string, number | number[]>;
}

/** A window and stride over every axis of a row, checked against it. */
export function windowOver(name: string, rowDims: number[], window: number[], stride: number | number[] | undefined): { window: number[]; stride: number[] } {
  const full = (v: number[], what: string): number[] => {
    if (v.length === rowDims.length) return v;
    const ax = imageAxes(rowDims);
    if (v.length === 2 && ax && rowDims.length === 3) return ax.channelsLast ? [v[0], v[1], ax.channels] : [ax.channels, v[0], v[1]];
    throw new Error(`${what} [${v.join(', ')}] for input '${name}' needs one size per axis of its rows [${rowDims.join(', ')}]${ax ? ' (or two, height and width)' : ''}`);
  };
  for (const v of window) if (!Number.isInteger(v) || v < 1) throw new RangeError(`occlusion window sizes must be positive integers, got [${window.join(', ')}]`);
  const w = full(window, 'window');
  // one stride (a number, or a list of one) is every axis's
  const given = stride === undefined ? 1 : Array.isArray(stride) && stride.length === 1 ? stride[0] : stride;
  const sv = typeof given === 'number' ? [given] : given;
  for (const v of sv) if (!Number.isInteger(v) || v < 1) throw new RangeError(`occlusion strides must be positive integers, got [${sv.join(', ')}]`);
  // a stride given for height and width alone steps over the channels by all of them: one position there
  const s = typeof given === 'number' ? new Array(rowDims.length).fill(given) : full(given, 'stride');
  rowDims.forEach((d, i) => {
    if (w[i] > d) throw new RangeError(`occlusion window [${w.join(', ')}] is larger than input '${name}' rows [${rowDims.join(', ')}] on axis ${i + 1} (${w[i]} > ${d})`);
    if (w[i] < d && s[i] > w[i]) throw new RangeError(`occlusion stride ${s[i]} on axis ${i + 1} of '${name}' is larger than the window there (${w[i]}): elements between windows would never be occluded`);
  });
  return { window: w, stride: s };
}

/** Window positions of one input, each as the flat indices it covers. */
function positions(rowDims: number[], window: number[], stride: number[]): Int32Array[] {
  const counts = rowDims.map((d, i) => Math.ceil((d - window[i]) / stride[i]) + 1);
  const total = counts.reduce((a, b) => a * b, 1);
  const strides = rowDims.map((_, i) => rowDims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: Int32Array[] = [];
  for (let p = 0; p < total; p++) {
    // position p as a start per axis (last axis fastest)
    let rest = p;
    const start = new Array<number>(rowDims.length);
    for (let i = rowDims.length - 1; i >= 0; i--) {
      start[i] = (rest % counts[i]) * stride[i];
      rest = Math.floor(rest / counts[i]);
    }
    const ends = start.map((s, i) => Math.min(rowDims[i], s + window[i]));
    const idx: number[] = [];
    const walk = (axis: number, flat: number) => {
      if (axis === rowDims.length) {
        idx.push(flat);
        return;
      }
      for (let k = start[axis]; k < ends[axis]; k++) walk(axis + 1, flat + k * strides[axis]);
    };
    walk(0, 0);
    out.push(Int32Array.from(idx));
  }
  return out;
}

export async function occlusion(explainer: Explainer, inputs: Record<string, Tensor>, opts: OcclusionOptions): Promise<AttributionResult & PerturbationResultExtras> {
  if (!opts.window) throw new Error('occlusion needs a window shape (--window, e.g. 4,4)');
  const setup = await perturbationSetup(explainer, inputs, opts);
  const { attributed, feeds, batch } = setup;
  const perName = <T>(v: T | Record<string, T>, name: string, isOne: (x: unknown) => boolean): T | undefined => (isOne(v) ? (v as T) : (v as Record<string, T> | undefined)?.[name]);
  const windows: { name: string; cover: Int32Array }[] = [];
  for (const name of attributed) {
    const w = perName(opts.window, name, Array.isArray);
    if (!w) throw new Error(`no occlusion window given for input '${name}'`);
    const s = perName(opts.strides, name, (x) => x === undefined || typeof x === 'number' || Array.isArray(x));
    const rowDims = feeds[name].dims.slice(1);
    const g = windowOver(name, rowDims, w, s);
    for (const cover of positions(rowDims, g.window, g.stride)) windows.push({ name, cover });
  }
  const base = replacements(setup, opts.baselines);
  // per example: the example itself, then one row per window
  const per = windows.length + 1;
  const { values } = await evaluateBlocks(
    setup,
    new Array(batch).fill(per),
    (e, k, name, row) => {
      if (k === 0 || windows[k - 1].name !== name) return;
      const from = rowOf(base[name], e, row.length) as Float32Array;
      for (const i of windows[k - 1].cover) (row as Float32Array)[i] = from[i];
    },
    opts,
    'occlusion',
  );
  const attributions: Record<string, Tensor> = {};
  const outputs = new Float64Array(batch);
  for (const name of attributed) {
    const size = feeds[name].data.length / batch;
    const total = new Float64Array(batch * size);
    const covered = new Float64Array(size);
    windows.forEach((w, k) => {
      if (w.name !== name) return;
      for (const i of w.cover) covered[i]++;
      for (let e = 0; e < batch; e++) {
        const drop = values[e * per] - values[e * per + 1 + k];
        for (const i of w.cover) total[e * size + i] += drop;
      }
    });
    const data = new Float32Array(batch * size);
    for (let e = 0; e < batch; e++) for (let i = 0; i < size; i++) data[e * size + i] = total[e * size + i] / covered[i];
    attributions[name] = { type: 'float32', dims: [...feeds[name].dims], data };
  }
  for (let e = 0; e < batch; e++) outputs[e] = values[e * per];
  return perturbationResult('occlusion', setup, opts, attributions, outputs, batch * per);
}
