/**
 * Third-party models whose ops are lowered before differentiation, against
 * PyTorch autograd on the same weights (float64 references made by
 * models/make_lowered_refs.py; provenance in test/fixtures/lowered/PROVENANCE.md).
 * They go through the product's path: the Explainer prepares the model,
 * lowers it, checks the lowering against the model's own output, and builds
 * the gradient graph on it; saliency without abs returns the raw gradient.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Explainer, saliency, decodeModel, type Tensor } from '@onnx-explain/core';
import { runtime, relL2 } from './fd';
import { repoRoot } from '../helpers/ort';

const dir = path.join(repoRoot, 'test/fixtures/lowered');

describe('the byte LSTM (sonos/tract, two bidirectional LSTM layers over byte embeddings)', () => {
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'tract_byte_sb_bidi_lstm.json'), 'utf8'));
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(dir, ref.model))));
  afterAll(() => ex.release());
  const ids: Tensor = { type: 'uint8', dims: ref.input_shape, data: Uint8Array.from(ref.input_data) };

  test('its forward output matches PyTorch on the rebuilt weights (the weight mapping is right)', async () => {
    const s = await runtime.createSession(decodeModel(fs.readFileSync(path.join(dir, ref.model))));
    const out = await s.run({ [ref.input]: ids });
    await s.release();
    expect(out.output.dims).toEqual(ref.logits_shape);
    expect(relL2(out.output.data as Float32Array, ref.logits)).toBeLessThan(1e-5);
  });

  test.each(Object.entries<any>(ref.targets))('gradient of %s at the embedding output, by graph through the lowered LSTMs', async (_name, t) => {
    const r = await saliency(ex, { [ref.input]: ids }, { at: ref.at, target: t.target, abs: false });
    expect(r.gradientSource).toBe('graph');
    expect(r.lowered).toEqual(['LSTM (LSTM_9)', 'LSTM (LSTM_20)']);
    const g = r.attributions[ref.at];
    expect(g.dims).toEqual(ref.grad_shape);
    expect(relL2(g.data as Float32Array, t.grad)).toBeLessThan(1e-4);
  });
});
