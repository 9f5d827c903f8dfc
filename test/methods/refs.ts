/**
 * The references the method tests read: PyTorch autograd (models/make_grad_refs.py,
 * loadRefs) and Captum 0.8 with the methods' definitions (models/make_method_refs.py, refs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, type ModelProto, type Tensor } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';

export interface Ref {
  name: string;
  model: ModelProto;
  input: string;
  at: string;
  x: Tensor;
  targets: number[];
  logits: number[];
  igSteps: number;
  ig: Record<string, number[]>;
  layer: boolean;
}

export function loadRefs(): Ref[] {
  const dir = path.join(repoRoot, 'test/fixtures/grad');
  const raw: [string, string, any][] = [
    ...fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f): [string, string, any] => [f.replace('.json', ''), dir, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]),
    ...Object.entries<any>(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/reference_gradients.json'), 'utf8'))).map(
      ([k, v]): [string, string, any] => [`models/${k}`, path.join(repoRoot, 'models'), v],
    ),
  ];
  return raw.map(([name, d, r]) => ({
    name,
    model: decodeModel(fs.readFileSync(path.join(d, r.model))),
    input: r.input,
    at: r.at,
    x:
      r.input_dtype === 'int64'
        ? { type: 'int64', dims: r.input_shape, data: BigInt64Array.from(r.input_data.map(BigInt)) }
        : { type: 'float32', dims: r.input_shape, data: Float32Array.from(r.input_data) },
    targets: r.targets,
    logits: r.logits,
    igSteps: r.ig_steps,
    ig: r.ig,
    layer: r.at !== r.input,
  }));
}

// ---- models/make_method_refs.py -> test/fixtures/methods/method_refs.json

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

