/** Small helpers over core's dense Tensor for building batches of rows. */
import type { Tensor } from '../runtime';
import type { TypedArray } from '../onnx/tensor';

export function rowSize(t: Tensor): number {
  return t.dims.slice(1).reduce((a, b) => a * b, 1);
}

/** Repeats rows: rowIndex[r] names the source row of output row r. */
export function gatherRows(t: Tensor, rowIndex: number[]): Tensor {
  const n = rowSize(t);
  const data = new (t.data.constructor as new (k: number) => TypedArray)(rowIndex.length * n);
  rowIndex.forEach((src, r) => (data as Float32Array).set((t.data as Float32Array).subarray(src * n, (src + 1) * n), r * n));
  return { type: t.type, dims: [rowIndex.length, ...t.dims.slice(1)], data };
}

export function asFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

/** A value is a dense Tensor (as opposed to a number, a name, or a record of tensors). */
export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dims' in v && 'data' in v;
}
