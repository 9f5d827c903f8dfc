/**
 * Bad calls are refused before any work, with a message that names the
 * problem: missing, unknown or disagreeing inputs, targets out of range or
 * miscounted, nothing to attribute, unknown methods, Grad-CAM without a
 * layer; and cancellation: an aborted signal stops a method with its reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, Explainer, explainWith, integratedGradients, saliency, gradCam, noiseTunnel, CancelledError, throwIfAborted, GraphBuilder, DataType, makeModel, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { sample, stackRows } from '../helpers/samples';
import { repoRoot } from '../helpers/ort';

const load = (file: string) => decodeModel(fs.readFileSync(path.join(repoRoot, 'models', file)));

const f32 = (dims: number[], fill = 0.5): Tensor => ({ type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });

/** y = [x . a + b, x . a - b] over x [N, 3] and b [N, 1]. */
function twoInputs() {
  const g = new GraphBuilder('two');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const b = g.input('b', DataType.FLOAT, ['N', 1]);
  const xa = g.op('MatMul', [x, g.constant(Float32Array.from([1, -1, 2]), [3, 1])]);
  g.output(g.op('Concat', [g.op('Add', [xa, b]), g.op('Sub', [xa, b])], { axis: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 2]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}

describe('inputs', () => {
  const ex = twoInputs();
  afterAll(() => ex.release());
  test.each([
    [{ x: f32([1, 3]) }, "no value given for input 'b'; the model's inputs are x, b"],
    [{ x: f32([2, 3]), b: f32([3, 1]) }, "inputs disagree on the batch size: 'b' has 3 rows, 'x' has 2"],
    [{ x: f32([1, 3]), b: f32([1, 1]), c: f32([1, 1]) }, "the model has no input 'c'; its inputs are x, b"],
    [{ x: f32([1, 4]), b: f32([1, 1]) }, "input 'x' expects shape [N, 3], got [1, 4]"],
  ])('%#: %s', async (inputs, message) => {
    await expect(integratedGradients(ex, inputs as Record<string, Tensor>, { target: 0 })).rejects.toThrow(message);
  });

  test('attributing an input the model does not have', async () => {
    await expect(saliency(ex, { x: f32([1, 3]), b: f32([1, 1]) }, { target: 0, attribute: ['z'] })).rejects.toThrow("cannot attribute 'z': the model has no such input");
  });
});

describe('targets', () => {
  const ex = twoInputs();
  afterAll(() => ex.release());
  const x = { x: f32([2, 3]), b: f32([2, 1]) };
  test.each([
    [2, "target 2 is out of range: output 'y' of shape [N, 2] has 2 classes (0 to 1)"],
    [-1, "target -1 is out of range: output 'y' of shape [N, 2] has 2 classes (0 to 1)"],
    [0.5, "target 0.5 is out of range: output 'y' of shape [N, 2] has 2 classes (0 to 1)"],
    [[0], '1 targets given for 2 examples'],
    [[0, 1, 1], '3 targets given for 2 examples'],
  ])('%p', async (target, message) => {
    await expect(integratedGradients(ex, x, { target: target as number })).rejects.toThrow(message);
  });

  test('per-example targets and the top class are both honoured', async () => {
    const r = await saliency(ex, x, { target: [1, 0], abs: false });
    expect(r.classes).toEqual([1, 0]);
    // d y1 / d b = -1, d y0 / d b = +1
    expect(Array.from(r.attributions.b.data as Float32Array)).toEqual([-1, 1]);
    const top = await saliency(ex, { x: f32([1, 3], 1), b: f32([1, 1], -3) }, { abs: false });
    expect(top.classes).toEqual([1]); // x . a = 2: y = [-1, 5]
  });
});

describe('methods', () => {
  test('nothing to attribute on a model fed only integers, unless at a layer', async () => {
    const ex = new Explainer(runtime, load('text_classifier.onnx'));
    await expect(integratedGradients(ex, { token_ids: sample('review_positive.npy') })).rejects.toThrow(
      "the model has no floating-point input to attribute; attribute at a layer instead (for a text model, its embedding output: '/embedding/Gather_output_0')",
    );
    await ex.release();
  });

  test('an unknown method and Grad-CAM without a layer', async () => {
    const ex = twoInputs();
    const x = { x: f32([1, 3]), b: f32([1, 1]) };
    await expect(explainWith(ex, x, { method: 'lime' as never })).rejects.toThrow(
      "unknown method 'lime'; use one of ig, saliency, input-x-gradient, smoothgrad, gradient-shap, grad-cam",
    );
    await expect(explainWith(ex, x, { method: 'grad-cam' })).rejects.toThrow('grad-cam needs a convolution layer');
    await ex.release();
  });

  test('Grad-CAM at a tensor that is not [N, C, H, W] names its shape', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    await expect(gradCam(ex, { image: sample('digit_3.npy') }, { layer: '/Flatten_output_0', target: 3 })).rejects.toThrow(
      "Grad-CAM needs a layer shaped [N, C, H, W]; '/Flatten_output_0' has shape [1, 256]",
    );
    await ex.release();
  });
});

describe('cancellation', () => {
  test('throwIfAborted: nothing when not aborted, the reason when there is one, else a CancelledError', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted({ aborted: false })).not.toThrow();
    const reason = new Error('user pressed cancel');
    expect(() => throwIfAborted({ aborted: true, reason })).toThrow(reason);
    expect(() => throwIfAborted({ aborted: true, reason: 'not an error' })).toThrow(CancelledError);
    expect(() => throwIfAborted({ aborted: true })).toThrow('the computation was cancelled');
    expect(new CancelledError().name).toBe('AbortError');
  });

  test('an already aborted signal stops the noise tunnel before its first sample', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    const seen: number[] = [];
    await expect(noiseTunnel(ex, { image: stackRows([sample('digit_3.npy')]) }, { target: 3, samples: 4, signal: controller.signal, onProgress: (e) => seen.push(e.done) })).rejects.toThrow('stop now');
    expect(seen).toEqual([]);
    await ex.release();
  });
});
