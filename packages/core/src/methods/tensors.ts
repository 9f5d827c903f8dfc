/** Small helpers over core's dense Tensor for building batches of rows. */
import type { Tensor } from '../runtime';
import type { TypedArray } from '../onnx/tensor';

export function rowSize(t: Tensor): number {
  return t.dims.slice(1).reduce((a, b) => a * b, 1);
}

export function rowsOf(t: Tensor): number {
  return t.dims[0];
}

/** Row r of a tensor, as a view. */
export function row(t: Tensor, r: number): TypedArray {
  const n = rowSize(t);
  return t.data.subarray(r * n, (r + 1) * n) as TypedArray;
}

/** A tensor of `rows` rows built by a function filling each row. */
export function buildRows(like: Tensor, rows: number, fill: (r: number, out: Float32Array) => void): Tensor {
  const n = rowSize(like);
  const data = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) fill(r, data.subarray(r * n, (r + 1) * n));
  return { type: 'float32', dims: [rows, ...like.dims.slice(1)], data };
}

/** Repeats rows: rowIndex[r] names the source row of output row r. */
export function gatherRows(t: Tensor, rowIndex: number[]): Tensor {
  const n = rowSize(t);
  const data = new (t.data.constructor as new (k: number) => TypedArray)(rowIndex.length * n);
  rowIndex.forEach((src, r) => (data as Float32Array).set(row(t, src) as Float32Array, r * n));
  return { type: t.type, dims: [rowIndex.length, ...t.dims.slice(1)], data };
}

export function asFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}
