import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseNpy, type Tensor } from '@onnx-explain/core';
import { repoRoot } from './ort';

/** A shipped sample (models/samples/NAME) as a core Tensor. */
export function sample(file: string): Tensor {
  const a = parseNpy(new Uint8Array(fs.readFileSync(path.join(repoRoot, 'models/samples', file))), file);
  return { type: a.dtype as Tensor['type'], dims: a.shape, data: a.data };
}

/** Rows of several batch-1 float tensors stacked into one batch. */
export function stackRows(ts: Tensor[]): Tensor {
  const n = ts[0].data.length;
  const data = new Float32Array(n * ts.length);
  ts.forEach((t, i) => data.set(t.data as Float32Array, i * n));
  return { type: 'float32', dims: [ts.length, ...ts[0].dims.slice(1)], data };
}
