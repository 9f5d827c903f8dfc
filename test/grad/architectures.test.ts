/**
 * Gradients of PyTorch-exported architectures against PyTorch autograd
 * (float64 references made by models/make_grad_refs.py): an MLP, a small
 * ResNet with BatchNorm and residual adds, a MobileNet-style block (depthwise
 * conv, ReLU6 as Clip), and a transformer encoder layer over token ids
 * (softmax attention with a padding mask, erf-GELU, LayerNorm both as one op
 * and decomposed into ReduceMean/Sub/Pow/Sqrt/Div), differentiated at the
 * embedding output; an LSTM over embeddings, differentiated through its
 * lowering to standard ops (grad/lower), as the engine does; and the three
 * shipped models. Every row of a batch has its own class target.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildGradientModel, lowerAndCheck, probeModel, probeShapes, decodeModel, type Tensor } from '@onnx-explain/core';
import { runtime, relL2 } from './fd';
import { repoRoot } from '../helpers/ort';

const dir = path.join(repoRoot, 'test/fixtures/grad');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
// the shipped models too, rebuilt in PyTorch from their own weights
const shipped = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/reference_gradients.json'), 'utf8'));
const refs: [string, string, any][] = [
  ...files.map((f): [string, string, any] => [f.replace('.json', ''), dir, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]),
  ...Object.entries<any>(shipped).map(([k, v]): [string, string, any] => [`models/${k}`, path.join(repoRoot, 'models'), v]),
];

test('every architecture and shipped model has a reference', () => {
  expect(refs.map((r) => r[0])).toEqual([
    'encoder_layernorm_decomposed', 'encoder_layernorm_fused', 'lstm_text', 'mlp', 'mobilenet_block', 'resnet_small',
    'models/digits_cnn', 'models/tabular_mlp', 'models/text_classifier',
  ]);
});

describe.each(refs)('%s', (name, modelDir, ref) => {
  test('gradient matches PyTorch autograd (relative L2 < 1e-4)', async () => {
    const model = decodeModel(fs.readFileSync(path.join(modelDir, ref.model)));
    const x: Tensor =
      ref.input_dtype === 'int64'
        ? { type: 'int64', dims: ref.input_shape, data: BigInt64Array.from(ref.input_data.map(BigInt)) }
        : { type: 'float32', dims: ref.input_shape, data: Float32Array.from(ref.input_data) };
    const rows = ref.input_shape[0];
    const one: Tensor = { ...x, dims: [1, ...x.dims.slice(1)], data: x.data.slice(0, x.data.length / rows) as Tensor['data'] };
    const sample = { [ref.input]: one };
    const probed = await probeModel(runtime, model, sample);
    // ops without a rule (the LSTM) are lowered, and the lowering checked, as the engine does
    const lowering = await lowerAndCheck(runtime, model, probed.shapes, probed.outputs, sample, [ref.input]);
    expect(lowering.notes).toEqual([]);
    expect(lowering.lowered?.ops ?? []).toEqual(name === 'lstm_text' ? ['LSTM (/lstm/LSTM)'] : []);
    const shapes = lowering.lowered?.shapes ?? probed.shapes;
    const gm = buildGradientModel(lowering.lowered?.model ?? model, { target: { kind: 'class' }, wrt: [ref.at], shapes });
    const s = await runtime.createSession(gm.model);
    const out = await s.run({ [ref.input]: x, [gm.targetInput!]: { type: 'int64', dims: [rows], data: BigInt64Array.from(ref.targets.map(BigInt)) } });
    await s.release();
    const g = out[gm.gradients[ref.at]];
    expect(g.dims).toEqual(ref.grad_shape);
    const err = relL2(g.data as Float32Array, ref.grad);
    expect(err).toBeLessThan(1e-4);
    expect(relL2(out.logits.data as Float32Array, ref.logits)).toBeLessThan(1e-5);
  });
});

test('an LSTM has no gradient rule: unlowered, the builder names it', async () => {
  const ref = refs.find((r) => r[0] === 'lstm_text')![2];
  const model = decodeModel(fs.readFileSync(path.join(dir, ref.model)));
  const ids: Tensor = { type: 'int64', dims: [1, ref.input_shape[1]], data: BigInt64Array.from(ref.input_data.slice(0, ref.input_shape[1]).map(BigInt)) };
  const shapes = await probeShapes(runtime, model, { [ref.input]: ids });
  expect(() => buildGradientModel(model, { target: { kind: 'class' }, wrt: [ref.at], shapes })).toThrow(/no gradient rule for op LSTM/);
});
