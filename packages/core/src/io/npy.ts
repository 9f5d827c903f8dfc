/**
 * NumPy .npy files (format versions 1-3): the format Python users already
 * have their inputs in. Little- and big-endian data, C and Fortran order
 * (returned in C order, as numpy.load's values read row by row). Runtime-
 * neutral: the CLI reads them from disk, the dashboard from dropped files.
 */
import type { TypedArray } from '../onnx/tensor';
import { utf8Decode, utf8Encode } from '../onnx/utf8';

export interface NdArray {
  data: TypedArray;
  shape: number[];
  /** 'float32', 'float64', 'int64', 'int32', 'uint8', ... */
  dtype: string;
}

type Ctor = new (b: ArrayBuffer, o: number, n: number) => TypedArray;

/** The supported dtypes by numpy's type code (the descr without its byte-order character). */
const CODES: Record<string, { dtype: string; ctor: Ctor; bytes: number }> = {
  f4: { dtype: 'float32', ctor: Float32Array, bytes: 4 },
  f8: { dtype: 'float64', ctor: Float64Array, bytes: 8 },
  i8: { dtype: 'int64', ctor: BigInt64Array, bytes: 8 },
  i4: { dtype: 'int32', ctor: Int32Array, bytes: 4 },
  i2: { dtype: 'int16', ctor: Int16Array, bytes: 2 },
  u2: { dtype: 'uint16', ctor: Uint16Array, bytes: 2 },
  u1: { dtype: 'uint8', ctor: Uint8Array, bytes: 1 },
  i1: { dtype: 'int8', ctor: Int8Array, bytes: 1 },
  b1: { dtype: 'bool', ctor: Uint8Array, bytes: 1 },
};
const SUPPORTED = 'float32, float64, int64, int32, int16, uint16, int8, uint8, bool';

/** What encodeNpy writes for each dtype: numpy's own descr ('<f4', '|u1', ...). */
const TO_DESCR: Record<string, string> = Object.fromEntries(
  Object.entries(CODES).map(([code, i]) => [i.dtype, `${i.bytes === 1 ? '|' : '<'}${code}`]),
);

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

/** The dtype of a descr ('<f4', '>i8', '|u1'), or undefined when it is not one of ours. */
function dtypeOf(descr: string): { dtype: string; ctor: Ctor; bytes: number; bigEndian: boolean } | undefined {
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr);
  const info = m ? CODES[m[2]] : undefined;
  if (!m || !info) return undefined;
  // numpy writes '<' or '>' ('|' for one-byte types); numpy.load reads '=', '|' and no mark as the
  // reading machine's order, little-endian on every host this library supports ('>u1' is
  // harmless: reversing one byte changes nothing)
  return { ...info, bigEndian: m[1] === '>' };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** Reorders column-major (Fortran) elements into row-major (C) order. */
function fortranToC<T extends TypedArray>(src: T, shape: number[]): T {
  const n = src.length;
  const out = new (src.constructor as new (n: number) => T)(n);
  const rank = shape.length;
  // the Fortran stride of each axis, and a C-order index counter
  const fStride: number[] = [];
  for (let a = 0, s = 1; a < rank; a++) {
    fStride[a] = s;
    s *= shape[a];
  }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    (out as unknown as { [i: number]: number | bigint })[c] = (src as unknown as { [i: number]: number | bigint })[f];
    // advance the C index (last axis fastest), keeping the Fortran offset in step
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      f += fStride[a];
      if (idx[a] < shape[a]) break;
      f -= fStride[a] * shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

export function parseNpy(buf: Uint8Array, source = 'input'): NdArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 8 || magic.some((b, i) => buf[i] !== b)) throw new NpyError(`${source} is not a .npy file (bad magic)`);
  const [major, minor] = [buf[6], buf[7]];
  if (!(major >= 1 && major <= 3) || minor !== 0) {
    throw new NpyError(`${source}: .npy format version ${major}.${minor} is not supported (1.0, 2.0 or 3.0)`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) {
    throw new NpyError(`${source}: the .npy file is truncated: it ends inside its header length (${buf.length} bytes)`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lenBytes;
  const start = headerStart + headerLen;
  if (start > buf.length) {
    throw new NpyError(
      `${source}: the .npy header is ${headerLen} bytes long but the file ends after ${buf.length - headerStart} of them (truncated file?)`,
    );
  }
  // latin1 up to version 2, utf-8 from 3 (field names and dtypes are ASCII either way)
  const raw = buf.subarray(headerStart, start);
  const header = major === 3 ? utf8Decode(raw) : latin1(raw);
  const shown = header.trim();
  if (!/^\{.*\}$/s.test(shown)) throw new NpyError(`${source}: the .npy header is not a Python dict: '${shown}'`);
  if (/'descr'\s*:\s*\[/.test(header)) {
    throw new NpyError(`${source}: structured (record) dtypes are not supported, only plain arrays of ${SUPPORTED}: '${shown}'`);
  }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)\b/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  const missing = [descr === undefined && "'descr'", fortran === undefined && "'fortran_order'", shapeText === undefined && "'shape'"].filter(Boolean);
  if (missing.length) throw new NpyError(`${source}: the .npy header has no readable ${missing.join(', ')}: '${shown}'`);
  const info = dtypeOf(descr!);
  if (!info) throw new NpyError(`${source}: dtype '${descr}' is not supported (${SUPPORTED})`);
  // '()', '(3,)', '(2, 3)': Python tuples, a trailing comma allowed after an element
  const dims = shapeText!.trim() === '' ? [] : shapeText!.split(',').map((s) => s.trim());
  if (dims[dims.length - 1] === '') dims.pop();
  if (dims.some((d) => !/^\d+L?$/.test(d))) {
    throw new NpyError(`${source}: the .npy shape (${shapeText}) is not a tuple of non-negative integers`);
  }
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const n = shape.reduce((a, b) => a * b, 1);
  const need = n * info.bytes;
  if (!Number.isSafeInteger(need) || buf.length - start < need) {
    throw new NpyError(`${source}: shape (${shape.join(', ')}) needs ${need} bytes of data, the file has ${buf.length - start}`);
  }
  // a copy (aligned, and never a view into a pooled Buffer: Buffer#slice does not copy)
  const copy = Uint8Array.prototype.slice.call(buf, start, start + need);
  if (info.bigEndian) {
    // to the host's (little-endian) order, element by element
    for (let i = 0; i < need; i += info.bytes) copy.subarray(i, i + info.bytes).reverse();
  }
  let data = new info.ctor(copy.buffer, 0, n);
  // (a 0-d or 1-d array is the same in either order: fortranToC copies it unchanged)
  if (fortran === 'True') data = fortranToC(data, shape);
  return { data, shape, dtype: info.dtype };
}

export function encodeNpy(arr: NdArray): Uint8Array {
  const descr = TO_DESCR[arr.dtype];
  if (!descr) throw new NpyError(`cannot write dtype ${arr.dtype} to .npy`);
  const bytes = CODES[descr.slice(1)].bytes;
  const n = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.BYTES_PER_ELEMENT !== bytes || arr.data.length !== n) {
    throw new NpyError(
      `cannot write a .npy of dtype ${arr.dtype} and shape (${arr.shape.join(', ')}): it needs ${n} elements of ${bytes} bytes, the data has ${arr.data.length} of ${arr.data.BYTES_PER_ELEMENT}`,
    );
  }
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
