/**
 * Bad calls are refused before any work, with a message that names the
 * problem: missing, unknown or disagreeing inputs, targets out of range or
 * miscounted, nothing to attribute, unknown methods, Grad-CAM without a
 * layer; and cancellation: an aborted signal stops a method with its reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, Explainer, explainWith, integratedGradients, saliency, gradCam, noiseTunnel, CancelledError, throwIfAborted, GraphBuilder, DataType, makeModel, Attr, gradientCoverage, piecewiseConstantReason, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { sample, stackRows } from '../helpers/samples';
import { repoRoot } from '../helpers/ort';
import { stumpRegressor } from '../helpers/trees';

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
    await expect(explainWith(ex, x, { method: 'deep-taylor' as never })).rejects.toThrow(
      "unknown method 'deep-taylor'; use one of ig, saliency, input-x-gradient, smoothgrad, gradient-shap, grad-cam, guided-backprop, deconvolution, guided-grad-cam, deeplift, deeplift-shap, lrp, occlusion, feature-ablation, feature-permutation, shapley-sampling, kernel-shap, lime, tree-shap",
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

describe('a tree ensemble', () => {
  /** y = 1 where x0 <= 0.5, else 3: one stump (ai.onnx.ml TreeEnsembleRegressor), piecewise constant in x */
  const stump = () => stumpRegressor();

  test('is refused by every gradient method, by graph or finite differences, saying why and what it needs; inspect says so first', async () => {
    const model = stump();
    const c = gradientCoverage(model);
    expect(c.piecewiseConstant).toEqual([{ opType: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', nodes: ['TreeEnsembleRegressor_node'] }]);
    const why = piecewiseConstantReason(c)!;
    expect(why).toBe(
      "output 'y' depends on 'x' only through ai.onnx.ml::TreeEnsembleRegressor (TreeEnsembleRegressor_node), which is piecewise constant: the output's gradient is zero almost everywhere, so neither graph gradients nor finite differences explain it; explain it with tree-shap (exact, read from the trees) or a method that only runs the model: occlusion, feature-ablation, feature-permutation, shapley-sampling, kernel-shap, lime",
    );
    const ex = new Explainer(runtime, model);
    try {
      const x = { x: { type: 'float32' as const, dims: [1, 2], data: Float32Array.from([0.2, 0.7]) } };
      for (const gradients of ['auto', 'fd'] as const) {
        await expect(integratedGradients(ex, x, { target: 'sum', gradients })).rejects.toThrow(why);
        await expect(saliency(ex, x, { target: 'sum', gradients })).rejects.toThrow(why);
      }
    } finally {
      await ex.release();
    }
  });

  test('an input narrower than the features its trees split on is refused before onnxruntime runs (the declared width is open)', async () => {
    const ex = new Explainer(runtime, stumpRegressor({ feature: 3, inputDims: ['N', 'F'] }));
    try {
      expect(ex.summary.inputs[0].minFeatures).toBe(4);
      await expect(explainWith(ex, { x: f32([1, 3]) }, { method: 'kernel-shap', target: 'sum' })).rejects.toThrow(
        "input 'x' has 3 features (shape [1, 3]), but the model's trees split on feature 3: it needs at least 4",
      );
      const r = await explainWith(ex, { x: f32([1, 4]) }, { method: 'feature-ablation', target: 'sum' });
      // x3 = 0.5 <= 0.5: leaf 1; ablated to 0, still leaf 1
      expect(Array.from(r.attributions.x.data)).toEqual([0, 0, 0, 0]);
    } finally {
      await ex.release();
    }
  });

  test('compiled to tensor ops (comparisons, as Hummingbird writes trees) it is named by the comparison, not its Shape reads', () => {
    const g = new GraphBuilder('compiled');
    const x = g.input('x', DataType.FLOAT, ['N', 2]);
    const step = g.op('Cast', [g.op('Less', [x, g.constant(Float32Array.from([0.5]), [])])], { to: DataType.FLOAT });
    const rows = g.op('Cast', [g.op('Shape', [x])], { to: DataType.FLOAT });
    g.output(g.op('Add', [g.op('Mul', [step, g.constant(Float32Array.from([2]), [])]), g.op('ReduceSum', [rows], { keepdims: 1 })], {}, { output: 'y' }), DataType.FLOAT, ['N', 2]);
    const c = gradientCoverage(makeModel(g.build(), { opset: 13 }));
    expect(c.piecewiseConstant).toEqual([{ opType: 'Less', domain: '', nodes: ['Less_node'] }]);
    expect(piecewiseConstantReason(c)).toMatch(/^output 'y' depends on 'x' only through Less \(Less_node\), which is piecewise constant/);
  });
});
