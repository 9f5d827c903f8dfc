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
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
};

/** The values an integer dtype can hold (int64: those a JSON number holds exactly). */
const INT_RANGE: Record<string, [number, number]> = {
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint16: [0, 2 ** 16 - 1],
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
};

const isDims = (s: unknown): s is number[] =>
  Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);

/** The shape of nested arrays ([[1, 2], [3, 4]] -> [2, 2]), or a message when they are ragged. */
function nestedShape(data: unknown[], source: string): number[] {
  // the shape along the first elements, then checked against every element
  const shape: number[] = [];
  for (let a: unknown = data; Array.isArray(a); a = a[0]) shape.push(a.length);
  // rectangular: every array at depth k has shape[k] elements and the same depth below
  const check = (a: unknown, depth: number, where: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(a)) throw new NpyError(`${source}: "data" is nested unevenly: ${where} is an array where a number was expected`);
      return;
    }
    if (!Array.isArray(a)) throw new NpyError(`${source}: "data" is nested unevenly: ${where} is a number where an array of ${shape[depth]} was expected`);
    if (a.length !== shape[depth]) {
      throw new NpyError(`${source}: "data" is nested unevenly: ${where} has ${a.length} elements, not ${shape[depth]}`);
    }
    a.forEach((x, i) => check(x, depth + 1, `${where}[${i}]`));
  };
  check(data, 0, 'data');
  return shape;
}

export function parseJsonTensor(text: string, source = 'input'): NdArray {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new NpyError(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new NpyError(`${source}: expected an object {"shape": [...], "dtype": "float32", "data": [...]}, got ${Array.isArray(obj) ? 'an array' : JSON.stringify(obj)}`);
  }
  const { shape: shapeIn, data: dataIn, dtype: dtypeIn } = obj as { shape?: unknown; data?: unknown; dtype?: unknown };
  if (dtypeIn !== undefined && typeof dtypeIn !== 'string') throw new NpyError(`${source}: "dtype" must be a string such as "float32"`);
  const dtype = dtypeIn ?? 'float32';
  const make = JSON_DTYPES[dtype];
  if (!make) throw new NpyError(`${source}: dtype '${dtype}' is not supported (${Object.keys(JSON_DTYPES).join(', ')})`);
  if (!Array.isArray(dataIn)) throw new NpyError(`${source}: "data" must be an array of numbers`);
  if (shapeIn !== undefined && !isDims(shapeIn)) {
    throw new NpyError(`${source}: "shape" must be a list of non-negative integers, got ${JSON.stringify(shapeIn)}`);
  }
  const nested = nestedShape(dataIn, source);
  const flat = dataIn.flat(Infinity) as unknown[];
  const shape = shapeIn ?? nested;
  const n = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== n) throw new NpyError(`${source}: shape [${shape.join(', ')}] needs ${n} values, "data" has ${flat.length}`);
  if (nested.length > 1 && nested.join() !== shape.join()) {
    throw new NpyError(`${source}: "data" is nested as [${nested.join(', ')}] but "shape" is [${shape.join(', ')}]`);
  }
  const data = make(n);
  const range = INT_RANGE[dtype];
  flat.forEach((v, i) => {
    if (typeof v !== 'number' && typeof v !== 'boolean') throw new NpyError(`${source}: data[${i}] is not a number`);
    const x = Number(v);
    if (range && !(Number.isInteger(x) && x >= range[0] && x <= range[1])) {
      throw new NpyError(`${source}: data[${i}] = ${JSON.stringify(v)} is not a ${dtype} value (integers ${range[0]} to ${range[1]})`);
    }
    if (data instanceof BigInt64Array) data[i] = BigInt(x);
    else data[i] = x;
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
