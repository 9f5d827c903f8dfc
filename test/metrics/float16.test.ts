/**
 * The float16 copy core makes (toFloat16): binary16 rounding in closed form,
 * the copy runs in onnxruntime with the model's own float32 inputs and
 * outputs, and IG on it agrees with the float32 model to what float16
 * allows, with graph gradients built in float16 (the backward graph's
 * constants and tensors take the float type of what they differentiate);
 * a layer attribution at a float16 tensor is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, encodeModel, Explainer, explainWith, toFloat16, toHalfBits, fromHalfBits, relativeL2, spearman, TextTokenizer, explainText, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';

test('binary16 bits: exact values, the largest finite, overflow, subnormals, round to nearest even, NaN', () => {
  expect(toHalfBits(1)).toBe(0x3c00);
  expect(toHalfBits(-2)).toBe(0xc000);
  expect(toHalfBits(65504)).toBe(0x7bff);
  expect(toHalfBits(65520)).toBe(0x7c00); // halfway to 2^16 rounds up to infinity
  expect(toHalfBits(2 ** -24)).toBe(0x0001);
  expect(toHalfBits(2 ** -25)).toBe(0x0000); // a tie with 0, even
  expect(toHalfBits(0.1)).toBe(0x2e66);
  expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: to the even mantissa
  expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
  for (const v of [0.1, 3.14159, -1234.5, 6.1e-5]) expect(Math.abs(fromHalfBits(toHalfBits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
});

describe('the digits CNN in float16', () => {
  const file = path.join(repoRoot, 'models/digits_cnn.onnx');
  const model = decodeModel(fs.readFileSync(file));
  const bytes = encodeModel(model);
  const half = toFloat16(model);
  const j = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.json'), 'utf8'));
  const x: Tensor = { type: 'float32', dims: j.shape, data: Float32Array.from(j.data.flat(4)) };

  test('runs in onnxruntime with float32 in and out, logits within float16 rounding; the model given is unchanged', async () => {
    expect(encodeModel(model)).toEqual(bytes);
    const s32 = await runtime.createSession(model);
    const s16 = await runtime.createSession(half);
    const a = (await s32.run({ image: x })) as Record<string, Tensor>;
    const b = (await s16.run({ image: x })) as Record<string, Tensor>;
    await s32.release();
    await s16.release();
    const name = Object.keys(a)[0];
    expect(b[name].type).toBe('float32');
    // 11 significant bits per operation, a few dozen operations deep: 1e-2 relative on the logits
    expect(relativeL2(b[name].data as Float32Array, a[name].data as Float32Array)).toBeLessThan(1e-2);
  });

  test('IG on the copy, by a float16 gradient graph, agrees with float32 to what float16 allows (relative L2 < 1e-2, same ranking)', async () => {
    const e32 = new Explainer(runtime, model);
    const e16 = new Explainer(runtime, half);
    const r32 = await explainWith(e32, { image: x }, { method: 'ig', steps: 32 });
    const r16 = await explainWith(e16, { image: x }, { method: 'ig', steps: 32, target: r32.classes });
    await e32.release();
    await e16.release();
    expect(r16.gradientSource).toBe('graph');
    const a = r32.attributions.image.data as Float32Array;
    const b = r16.attributions.image.data as Float32Array;
    // float16 keeps 11 significant bits (unit roundoff 4.9e-4); through two convolutions, a pool, a
    // dense layer and their backward passes the attributions move by a few of those: 2.1e-3 here
    expect(relativeL2(b, a)).toBeLessThan(1e-2);
    expect(spearman(b, a)).toBeGreaterThan(0.99);
  });
});

test('a layer attribution at a float16 tensor is refused before onnxruntime sees float32 there', async () => {
  const ex = new Explainer(runtime, toFloat16(decodeModel(fs.readFileSync(path.join(repoRoot, 'models/sentiment_bert.onnx')))));
  const tok = new TextTokenizer(fs.readFileSync(path.join(repoRoot, 'models/sentiment_bert.tokenizer.json'), 'utf8'));
  await expect(explainText(ex, tok, 'the plot was good .', { steps: 4 })).rejects.toThrow(/layer attribution at '\/word_embeddings\/Gather_output_0' needs a float32 tensor; it is float16/);
  await ex.release();
});
