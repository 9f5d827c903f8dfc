/**
 * probeShapes reads every tensor's shape, type and small values through
 * Shape and a sliced head of it (exposeShapes), not by fetching the tensors.
 * The oracle is the direct way: the same model with every intermediate
 * exposed as an output (exposeIntermediates), run at batch 2, its tensors
 * read as they come out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, encodeModel, exposeIntermediates, exposeShapes, probeShapes, tileBatch, type Tensor } from '@onnx-explain/core';
import { runtime } from './fd';
import { repoRoot } from '../helpers/ort';

const dir = path.join(repoRoot, 'test/fixtures/grad');
const shipped = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/reference_gradients.json'), 'utf8'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const refs: [string, string, any][] = [
  ...fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f): [string, string, unknown] => [f.replace('.json', ''), dir, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]),
  ...Object.entries<unknown>(shipped).map(([k, v]): [string, string, unknown] => [`models/${k}`, path.join(repoRoot, 'models'), v]),
];

test.each(refs)('%s: every tensor as the model computes it, at batch 2', async (_name, modelDir, ref) => {
  const model = decodeModel(fs.readFileSync(path.join(modelDir, ref.model)));
  const before = encodeModel(model);
  const rows = ref.input_shape[0];
  const all: Tensor =
    ref.input_dtype === 'int64'
      ? { type: 'int64', dims: ref.input_shape, data: BigInt64Array.from(ref.input_data.map(BigInt)) }
      : { type: 'float32', dims: ref.input_shape, data: Float32Array.from(ref.input_data) };
  const one: Tensor = { ...all, dims: [1, ...all.dims.slice(1)], data: all.data.slice(0, all.data.length / rows) as Tensor['data'] };
  expect(exposeShapes(model)).toBeDefined();
  const table = await probeShapes(runtime, model, { [ref.input]: one });
  expect(encodeModel(model)).toEqual(before);

  const direct = await runtime.createSession(exposeIntermediates(model));
  const out = await direct.run({ [ref.input]: tileBatch(one, 2) });
  await direct.release();
  const names = Object.keys(out);
  expect(names.length).toBeGreaterThan(model.graph!.output!.length);
  let valued = 0;
  for (const name of names) {
    const t = out[name];
    const entry = table.get(name);
    expect(entry).toBeDefined();
    const at2 = entry!.dims.map((d) => (d === 'N' ? 2 : typeof d === 'string' && d.startsWith('N*') ? 2 * Number(d.slice(2)) : d));
    expect([name, at2]).toEqual([name, t.dims]);
    expect([name, entry!.type]).toEqual([name, { float32: 1, int64: 7, int32: 6, bool: 9, float64: 11 }[t.type as string]]);
    if (entry!.value) {
      valued++;
      expect([name, entry!.value]).toEqual([name, Array.from(t.data as ArrayLike<number | bigint>, Number)]);
    }
  }
  // the shape arithmetic of exported graphs comes with its values
  if (names.some((n) => out[n].type === 'int64')) expect(valued).toBeGreaterThan(0);
});
