/**
 * TensorProto <-> typed arrays.
 *
 * ONNX stores tensor values either as little-endian `raw_data` or in one of
 * the typed repeated fields (float_data, int32_data, ...), and which field a
 * type uses is fixed by the spec (onnx.proto's comments on TensorProto): for
 * example int8/uint8/int16/uint16/bool/float16 go into int32_data.
 */
import { DataType, DataLocation, type TensorProto } from './types';
import { toNumber, toBigInt } from './int64';
import { utf8Decode, utf8Encode } from './utf8';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export type TensorData = TypedArray | string[];

interface DTypeInfo {
  name: string;
  bytes: number;
  array: { new (n: number): TypedArray; new (b: ArrayBuffer, o?: number, n?: number): TypedArray };
}

/** Element types whose values this module can read and write. */
const DTYPES: Partial<Record<number, DTypeInfo>> = {
  [DataType.FLOAT]: { name: 'float32', bytes: 4, array: Float32Array },
  [DataType.DOUBLE]: { name: 'float64', bytes: 8, array: Float64Array },
  [DataType.INT8]: { name: 'int8', bytes: 1, array: Int8Array },
  [DataType.UINT8]: { name: 'uint8', bytes: 1, array: Uint8Array },
  [DataType.INT16]: { name: 'int16', bytes: 2, array: Int16Array },
  [DataType.UINT16]: { name: 'uint16', bytes: 2, array: Uint16Array },
  [DataType.INT32]: { name: 'int32', bytes: 4, array: Int32Array },
  [DataType.UINT32]: { name: 'uint32', bytes: 4, array: Uint32Array },
  [DataType.INT64]: { name: 'int64', bytes: 8, array: BigInt64Array },
  [DataType.UINT64]: { name: 'uint64', bytes: 8, array: BigUint64Array },
  [DataType.BOOL]: { name: 'bool', bytes: 1, array: Uint8Array },
  // float16 and bfloat16 are kept as their raw 16-bit patterns.
  [DataType.FLOAT16]: { name: 'float16', bytes: 2, array: Uint16Array },
  [DataType.BFLOAT16]: { name: 'bfloat16', bytes: 2, array: Uint16Array },
};

const NAMES: Record<number, string> = {
  0: 'undefined', 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32',
  7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32',
  13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn',
  18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4',
  23: 'float4e2m1', 24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

/** The short name of an ONNX element type ('float32', 'int64', ...). */
export function dataTypeName(code: number | undefined): string {
  return NAMES[code ?? 0] ?? `data type ${code}`;
}

/** Bytes per element of a fixed-size type, or undefined (strings, sub-byte types). */
export function dataTypeSize(code: number): number | undefined {
  if (code === DataType.COMPLEX64) return 8;
  if (code === DataType.COMPLEX128) return 16;
  if (code >= 17 && code <= 20) return 1;
  if (code === 24) return 1;
  return DTYPES[code]?.bytes;
}

/** The ONNX element type for a typed array (float16 cannot be told apart: Uint16 means uint16). */
export function dataTypeOf(data: TensorData): number {
  if (Array.isArray(data)) return DataType.STRING;
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int16Array) return DataType.INT16;
  if (data instanceof Uint16Array) return DataType.UINT16;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint32Array) return DataType.UINT32;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof BigUint64Array) return DataType.UINT64;
  throw new TypeError(`unsupported tensor data ${Object.prototype.toString.call(data)}`);
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d, `dimension of tensor '${t.name ?? ''}'`));
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/**
 * The values of a tensor. Throws for tensors whose data lives in an external
 * file that has not been loaded (see externalData.ts), and for element types
 * with no typed-array form (complex, float8, 4-bit).
 */
export function tensorToArray(t: TensorProto): TensorData {
  const name = t.name ?? '(unnamed)';
  if (t.dataLocation === DataLocation.EXTERNAL) {
    throw new Error(`tensor '${name}' stores its data in an external file that has not been loaded`);
  }
  const dims = tensorDims(t);
  const n = elementCount(dims);
  const code = t.dataType ?? DataType.UNDEFINED;
  if (code === DataType.STRING) {
    return (t.stringData ?? []).map(utf8Decode);
  }
  const info = DTYPES[code];
  if (!info) throw new Error(`tensor '${name}' has element type ${dataTypeName(code)}, which cannot be read as numbers`);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== n * info.bytes) {
      throw new Error(
        `tensor '${name}' of shape [${dims.join(', ')}] and type ${info.name} needs ${n * info.bytes} bytes of raw_data, has ${t.rawData.length}`,
      );
    }
    if (!isLittleEndian()) throw new Error('big-endian hosts are not supported');
    // Copy: raw_data is often unaligned inside the protobuf buffer.
    const copy = new Uint8Array(t.rawData);
    return new info.array(copy.buffer, 0, n);
  }
  const out = new info.array(n);
  let src: ArrayLike<unknown>;
  switch (code) {
    case DataType.FLOAT: src = t.floatData ?? []; break;
    case DataType.DOUBLE: src = t.doubleData ?? []; break;
    case DataType.INT64: src = t.int64Data ?? []; break;
    case DataType.UINT32: case DataType.UINT64: src = t.uint64Data ?? []; break;
    default: src = t.int32Data ?? [];
  }
  if (src.length !== n) {
    throw new Error(`tensor '${name}' of shape [${dims.join(', ')}] has ${src.length} values, expected ${n}`);
  }
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = toBigInt(src[i] as number);
  } else {
    for (let i = 0; i < n; i++) out[i] = Number(src[i]);
  }
  return out;
}

/**
 * Makes a TensorProto from values. Numbers go into raw_data (compact, and the
 * form exporters use); strings go into string_data. `dataType` overrides the
 * type inferred from the array (for float16 or bool).
 */
export function makeTensor(
  name: string,
  data: TensorData,
  dims: readonly number[],
  dataType?: number,
): TensorProto {
  const n = elementCount(dims);
  if (data.length !== n) {
    throw new Error(`tensor '${name}': ${data.length} values do not fill shape [${dims.join(', ')}] (${n} elements)`);
  }
  const code = dataType ?? dataTypeOf(data);
  const t: TensorProto = { name, dims: [...dims], dataType: code };
  if (Array.isArray(data)) {
    t.stringData = data.map(utf8Encode);
  } else {
    if (!isLittleEndian()) throw new Error('big-endian hosts are not supported');
    t.rawData = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  return t;
}
