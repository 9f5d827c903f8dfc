/** The method references (models/make_method_refs.py) as the tests read them. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tensor } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';

export interface JsonTensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: number[];
}
export interface Case {
  name: string;
  model: string;
  method: string;
  inputs: Record<string, JsonTensor>;
  options: Record<string, unknown> & { baselines?: number | { tensor: JsonTensor } | { inputs: Record<string, JsonTensor> } };
  expected: Record<string, JsonTensor>;
  delta?: number[];
}

export const refs = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/methods/method_refs.json'), 'utf8')) as {
  captum: string;
  cases: Case[];
  cli: Record<string, JsonTensor>;
  preprocessing: Record<string, unknown>;
};

export const toTensor = (t: JsonTensor): Tensor =>
  t.dtype === 'int64'
    ? { type: 'int64', dims: t.shape, data: BigInt64Array.from(t.data.map(BigInt)) }
    : { type: 'float32', dims: t.shape, data: Float32Array.from(t.data) };

