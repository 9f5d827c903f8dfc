/** The PyTorch references (models/make_grad_refs.py) as the method tests read them. */
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
