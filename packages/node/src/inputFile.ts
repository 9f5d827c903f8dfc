/**
 * Reading input tensors from files: .npy, or .json as
 * {"shape": [...], "data": [...], "dtype": "float32"}.
 */
import { readFileExplained } from './readFile';
import * as path from 'node:path';
import { parseNpy, NpyError, type NdArray } from '@onnx-explain/core';

const JSON_DTYPES: Record<string, (n: number) => NdArray['data']> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int64: (n) => new BigInt64Array(n),
  int32: (n) => new Int32Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
};

export function parseJsonTensor(text: string, source = 'input'): NdArray {
  let obj: { shape?: unknown; data?: unknown; dtype?: unknown };
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new NpyError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  const dtype = typeof obj.dtype === 'string' ? obj.dtype : 'float32';
  const make = JSON_DTYPES[dtype];
  if (!make) throw new NpyError(`${source}: dtype '${dtype}' is not supported (${Object.keys(JSON_DTYPES).join(', ')})`);
  if (!Array.isArray(obj.data)) throw new NpyError(`${source}: "data" must be an array of numbers`);
  const flat = (obj.data as unknown[]).flat(Infinity) as unknown[];
  const shape = Array.isArray(obj.shape) ? (obj.shape as number[]) : [flat.length];
  const n = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== n) throw new NpyError(`${source}: shape [${shape.join(', ')}] needs ${n} values, "data" has ${flat.length}`);
  const data = make(n);
  flat.forEach((v, i) => {
    if (typeof v !== 'number' && typeof v !== 'boolean') throw new NpyError(`${source}: data[${i}] is not a number`);
    if (data instanceof BigInt64Array) data[i] = BigInt(Math.trunc(Number(v)));
    else data[i] = Number(v);
  });
  return { data, shape, dtype };
}

export async function readInputFile(file: string): Promise<NdArray> {
  const buf = await readFileExplained(file, 'input file', (m) => new NpyError(m));
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return parseNpy(new Uint8Array(buf), `'${file}'`);
  if (ext === '.json') return parseJsonTensor(buf.toString('utf8'), `'${file}'`);
  throw new NpyError(`input file '${file}': unsupported extension '${ext}' (use .npy or .json)`);
}
