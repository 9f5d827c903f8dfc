/**
 * NumPy .npy files (format versions 1-3), little-endian, C order: the format
 * Python users already have their inputs in. Runtime-neutral: the CLI reads
 * them from disk, the dashboard from dropped files.
 */
import type { TypedArray } from '../onnx/tensor';
import { utf8Encode } from '../onnx/utf8';

export interface NdArray {
  data: TypedArray;
  shape: number[];
  /** 'float32', 'float64', 'int64', 'int32', 'uint8', ... */
  dtype: string;
}

const DESCR: Record<string, { dtype: string; ctor: new (b: ArrayBuffer, o: number, n: number) => TypedArray; bytes: number }> = {
  '<f4': { dtype: 'float32', ctor: Float32Array, bytes: 4 },
  '<f8': { dtype: 'float64', ctor: Float64Array, bytes: 8 },
  '<i8': { dtype: 'int64', ctor: BigInt64Array, bytes: 8 },
  '<i4': { dtype: 'int32', ctor: Int32Array, bytes: 4 },
  '<i2': { dtype: 'int16', ctor: Int16Array, bytes: 2 },
  '<u2': { dtype: 'uint16', ctor: Uint16Array, bytes: 2 },
  '|u1': { dtype: 'uint8', ctor: Uint8Array, bytes: 1 },
  '|i1': { dtype: 'int8', ctor: Int8Array, bytes: 1 },
  '|b1': { dtype: 'bool', ctor: Uint8Array, bytes: 1 },
};

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

export function parseNpy(buf: Uint8Array, source = 'input'): NdArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new NpyError(`${source} is not a .npy file (bad magic)`);
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  // the header is ASCII (latin1 up to version 2, utf-8 from 3; field names and dtypes are ASCII either way)
  const header = String.fromCharCode(...buf.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpyError(`${source}: cannot read the .npy header '${header.trim()}'`);
  if (fortran === 'True') throw new NpyError(`${source}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`);
  const info = DESCR[descr];
  if (!info) throw new NpyError(`${source}: dtype '${descr}' is not supported (float32, float64, int64, int32, int16, uint16, int8, uint8, bool)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  if (buf.length - start < n * info.bytes) {
    throw new NpyError(`${source}: shape (${shape.join(', ')}) needs ${n * info.bytes} bytes of data, the file has ${buf.length - start}`);
  }
  // a copy (aligned, and never a view into a pooled Buffer: Buffer#slice does not copy)
  const copy = Uint8Array.prototype.slice.call(buf, start, start + n * info.bytes);
  return { data: new info.ctor(copy.buffer, 0, n), shape, dtype: info.dtype };
}

const TO_DESCR: Record<string, string> = Object.fromEntries(Object.entries(DESCR).map(([d, i]) => [i.dtype, d]));

export function encodeNpy(arr: NdArray): Uint8Array {
  const descr = TO_DESCR[arr.dtype];
  if (!descr) throw new NpyError(`cannot write dtype ${arr.dtype} to .npy`);
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(utf8Encode(header), 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + header.length);
  return out;
}
