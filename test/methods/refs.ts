/**
 * The references the method tests read: PyTorch autograd (models/make_grad_refs.py,
 * loadRefs) and Captum 0.8 with the methods' definitions (models/make_method_refs.py, refs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, Explainer, type ModelProto, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
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


/** The reference files' cases, by file name under test/fixtures/methods. */
export const loadCases = (file: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/methods', file), 'utf8')) as { captum: string; cases: Case[] };

/**
 * One explainer per model file (a path under models/), made on first use and
 * released after the file's tests; and the relative errors seen, printed
 * with METHOD_REPORT=1. Call at a test file's top level.
 */
export function shippedExplainers() {
  const explainers = new Map<string, Explainer>();
  afterAll(async () => {
    for (const e of explainers.values()) await e.release();
  });
  const errors: string[] = [];
  afterAll(() => process.env.METHOD_REPORT && process.stderr.write(errors.join('\n') + '\n'));
  const explainer = (file: string) => {
    if (!explainers.has(file)) explainers.set(file, new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'models', file)))));
    return explainers.get(file)!;
  };
  return { explainer, errors };
}
