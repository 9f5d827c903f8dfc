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
import { Explainer, saliency, decodeModel, describeLowered, gradientCoverage, finiteDifferenceReason, type Tensor } from '@onnx-explain/core';
import { runtime, relL2 } from './fd';
import { repoRoot } from '../helpers/ort';

const dir = path.join(repoRoot, 'test/fixtures/lowered');

describe('the byte LSTM (sonos/tract, two bidirectional LSTM layers over byte embeddings)', () => {
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'tract_byte_sb_bidi_lstm.json'), 'utf8'));
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(dir, ref.model))));
  afterAll(() => ex.release());
  const ids: Tensor = { type: 'uint8', dims: ref.input_shape, data: Uint8Array.from(ref.input_data) };

  test('coverage says, before anything runs, that its LSTMs are lowered and the model differentiable by graph', () => {
    const c = gradientCoverage(decodeModel(fs.readFileSync(path.join(dir, ref.model))), { wrt: [ref.at] });
    expect(c.verdict).toBe('graph');
    expect(c.lowered).toEqual([{ opType: 'LSTM', domain: '', nodes: ['LSTM_9', 'LSTM_20'] }]);
    expect(c.ops.find((o) => o.opType === 'LSTM')?.status).toBe('lowered');
    expect(finiteDifferenceReason(c)).toBeUndefined();
  });

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

describe("onnxruntime-genai's tiny GPT-2 (fused by onnxruntime's transformer optimizer, with past states)", () => {
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'ortgenai_tiny_random_gpt2_past.json'), 'utf8'));
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(dir, ref.model))));
  afterAll(() => ex.release());
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries<any>(ref.inputs)) {
    inputs[k] = { type: v.dtype, dims: v.shape, data: v.dtype === 'int32' ? Int32Array.from(v.data) : Float32Array.from(v.data) };
  }

  test('its forward output matches PyTorch on the rebuilt weights', async () => {
    const s = await runtime.createSession(decodeModel(fs.readFileSync(path.join(dir, ref.model))));
    const out = await s.run(inputs);
    await s.release();
    expect(out.logits.dims).toEqual(ref.logits_shape);
    expect(relL2(out.logits.data as Float32Array, ref.logits)).toBeLessThan(1e-5);
  });

  test('gradient of one logit at the embedding sum, by graph through every fused op lowered; the past states (batch on axis 1) held fixed', async () => {
    const r = await saliency(ex, inputs, { at: ref.at, target: ref.target, abs: false });
    expect(r.gradientSource).toBe('graph');
    expect(new Set(r.lowered!.map((l) => l.split(' ')[0]))).toEqual(
      new Set(['com.microsoft::EmbedLayerNormalization', 'com.microsoft::Attention', 'com.microsoft::SkipLayerNormalization', 'com.microsoft::FastGelu']),
    );
    expect(r.lowered).toHaveLength(21);
    expect(describeLowered(r.lowered!)).toBe(
      '1 x com.microsoft::EmbedLayerNormalization, 5 x com.microsoft::Attention, 10 x com.microsoft::SkipLayerNormalization, 5 x com.microsoft::FastGelu',
    );
    const g = r.attributions[ref.at];
    expect(g.dims).toEqual(ref.grad_shape);
    expect(relL2(g.data as Float32Array, ref.grad)).toBeLessThan(1e-4);
  });

  test('without a layer, the error names the held-fixed float inputs and the embedding output to attribute at', async () => {
    await expect(saliency(ex, inputs, { target: ref.target })).rejects.toThrow(
      "the model has no floating-point input to attribute ('past_0', 'past_1', 'past_2', 'past_3', 'past_4' are held fixed: their batch is not on the first axis); attribute at a layer instead (for a text model, its embedding output: 'EmbedLayerNormalization_0_embedding_sum')",
    );
  });

  test('a past state cannot be attributed: its batch is on axis 1; the error says so', async () => {
    await expect(saliency(ex, inputs, { attribute: ['past_0'], target: ref.target })).rejects.toThrow(/cannot attribute 'past_0': its batch is on axis 1 \('batch_size'\)/);
  });
});
