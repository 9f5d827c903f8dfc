/**
 * The methods that change backward rules against Captum 0.8 itself
 * (models/make_modified_refs.py, float64 on the same weights): Guided
 * Backprop, Deconvolution and Guided Grad-CAM on the digits CNN
 * (convolutions, ReLU, MaxPool, a linear head), Guided Backprop,
 * Deconvolution and DeepLift on the tabular MLP, Guided Backprop and
 * Deconvolution on a CNN with BatchNorm and MaxPool and on a ResNet basic
 * block, DeepLift on the block (exported from PyTorch by the reference
 * script), relative L2 < 1e-5. And
 * what they refuse: finite differences, which know no backward rules, and
 * DeepLift through ops whose rules are not built.
 */
import { Explainer, explainWith, guidedBackprop, saliency, deepLift, type MethodName } from '@onnx-explain/core';
import { runtime, relL2 } from '../grad/fd';
import { toTensor, shippedExplainers, loadCases, type Case } from './refs';

const refs = loadCases('modified_refs.json');
const { explainer, errors } = shippedExplainers();

test('the references come from Captum 0.8', () => {
  expect(refs.captum).toBe('0.8.0');
  expect(refs.cases.map((c) => c.method)).toEqual([
    'guided-backprop', 'guided-backprop', 'deconvolution', 'deconvolution', 'guided-grad-cam', 'deeplift', 'deeplift',
    'guided-backprop', 'deconvolution', 'guided-grad-cam', 'guided-backprop', 'deconvolution', 'guided-grad-cam', 'lrp', 'lrp',
    'deeplift-shap', 'deeplift', 'lrp', 'lrp', 'lrp', 'deeplift', 'deeplift', 'deeplift-shap',
  ]);

});

test.each(refs.cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)]));
  const o = c.options as { target: number[]; layer?: string; baselines?: { tensor: Parameters<typeof toTensor>[0] }; layerRules?: Record<string, never> };
  const r = await explainWith(explainer(c.model), inputs, { method: c.method as MethodName, target: o.target, layer: o.layer, baselines: o.baselines ? toTensor(o.baselines.tensor) : undefined, layerRules: o.layerRules });
  expect(r.method).toBe(c.method);
  expect(r.gradientSource).toBe('graph');
  for (const [k, want] of Object.entries(c.expected)) {
    // a reference of zeros would check nothing
    expect(want.data.some((v) => Math.abs(v) > 1e-6)).toBe(true);
    const err = relL2(r.attributions[k].data as Float32Array, want.data);
    errors.push(`${c.name.padEnd(40)} ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    if (c.method.startsWith('deeplift')) {
      // completeness as Captum's: 0 to float32 precision, except through a Softmax, whose rule (Captum's) removes a whole-batch mean
      const want = c.delta ?? r.delta!.map(() => 0);
      r.delta!.forEach((d, e) => expect(Math.abs(d - want[e])).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.outputs[e]))));
      if (!c.name.includes('Softmax')) want.forEach((d) => expect(Math.abs(d)).toBeLessThan(1e-9));
    }
    const lrpDelta = (c as Case & { lrp_delta?: number[] }).lrp_delta;
    if (lrpDelta) {
      // the relevance lost on the way (epsilon, biases): Captum's convergence delta, F(x) - sum
      r.delta!.forEach((d, e) => expect(Math.abs(d - lrpDelta[e])).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.outputs[e]))));
    }
    // and it is not the plain gradient
    const plain = await saliency(explainer(c.model), inputs, { target: (c.options as { target: number[] }).target, abs: false });
    expect(relL2(plain.attributions[k].data as Float32Array, want.data)).toBeGreaterThan(1e-2);
  }
});

test('finite differences are refused: they know nothing of backward rules', async () => {
  const ex = explainer('tabular_mlp.onnx');
  const x = toTensor(refs.cases[1].inputs.features);
  await expect(guidedBackprop(ex, { features: x }, { target: 0, gradients: 'fd' })).rejects.toThrow('guided-backprop changes backward rules: it needs graph gradients, not finite differences');
});

test("the IG paper's example f(x) = 1 - ReLU(1 - x): IG gives f(x) - f(0), Guided Backprop and Deconvolution drop the negative gradient ReLU passes back", async () => {
  const { GraphBuilder, DataType, makeModel, integratedGradients, deconvolution } = await import('@onnx-explain/core');
  const g = new GraphBuilder('paper');
  const x = g.input('x', DataType.FLOAT, ['N', 1]);
  const one = g.constant(Float32Array.of(1), []);
  g.output(g.op('Sub', [one, g.op('Relu', [g.op('Sub', [one, x])])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  try {
    const xs = { x: { type: 'float32' as const, dims: [2, 1], data: Float32Array.of(0.5, 2) } };
    const ig = await integratedGradients(ex, xs, { target: 0, steps: 64 });
    // f(0.5) - f(0) = 0.5, f(2) - f(0) = 1
    expect(Array.from(ig.attributions.x.data as Float32Array).map((v) => +v.toFixed(3))).toEqual([0.5, 1]);
    const grad = await saliency(ex, xs, { target: 0, abs: false });
    expect(Array.from(grad.attributions.x.data as Float32Array, (v) => v + 0)).toEqual([1, 0]);
    // DeepLift's Rescale through the one ReLU: exactly f(x) - f(0), as IG (the paper's point)
    const dl = await deepLift(ex, xs, { target: 0 });
    expect(Array.from(dl.attributions.x.data as Float32Array)).toEqual([0.5, 1]);
    expect(dl.delta).toEqual([0, 0]);
    for (const method of [guidedBackprop, deconvolution]) {
      const r = await method(ex, xs, { target: 0 });
      // the gradient reaching ReLU's output is -1: both rules zero it
      expect(Array.from(r.attributions.x.data as Float32Array, (v) => v + 0)).toEqual([0, 0]);
    }
  } finally {
    await ex.release();
  }
});


describe("DeepLift's MaxPool rule (Captum 0.8's maxpool)", () => {
  /** y = 2 * max(x0..x3) over one 2x2 window. */
  async function pooled() {
    const { GraphBuilder, DataType, makeModel } = await import('@onnx-explain/core');
    const g = new GraphBuilder('pool');
    const x = g.input('x', DataType.FLOAT, ['N', 1, 2, 2]);
    const p = g.op('MaxPool', [x], { kernel_shape: [2, 2] });
    g.output(g.op('Mul', [g.op('Flatten', [p]), g.constant(Float32Array.of(2), [])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  }
  test.each([
    // the baseline's max is lower: all of max(y, y') - y' at the example's argmax
    [[1, 5, 2, 3], [4, 0, 1, 2], [0, 2, 0, 0]],
    // the baseline's max is higher: y - max(y, y') at the baseline's argmax, nothing at the example's
    [[1, 5, 2, 3], [6, 0, 0, 0], [-2, 0, 0, 0]],
    // the same argmax: y - y' there
    [[1, 5, 2, 3], [0, 2, 1, 1], [0, 6, 0, 0]],
  ])('x %j, baseline %j: attributions %j, in closed form', async (x, b, want) => {
    const ex = await pooled();
    try {
      const r = await deepLift(ex, { x: { type: 'float32', dims: [1, 1, 2, 2], data: Float32Array.from(x) } }, { target: 0, baselines: { type: 'float32', dims: [1, 1, 2, 2], data: Float32Array.from(b) } });
      expect(Array.from(r.attributions.x.data as Float32Array, (v) => v + 0)).toEqual(want);
      expect(r.delta[0]).toBe(0);
    } finally {
      await ex.release();
    }
  });

  test('on the digits CNN (ReLU into MaxPool, many exact ties) completeness holds to float32 rounding from several baselines', async () => {
    const x = toTensor(refs.cases[0].inputs.image);
    for (const baselines of [0, 0.25, 1]) {
      const r = await deepLift(explainer('digits_cnn.onnx'), { image: x }, { target: [3, 1, 0], baselines });
      r.delta.forEach((d, e) => expect(Math.abs(d)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.outputs[e] - r.baselineOutputs[e]))));
    }
  });
});

test('deeplift-shap without baseline rows is refused before any work, naming what it needs', async () => {
  const { deepLiftShap } = await import('@onnx-explain/core');
  const x = toTensor(refs.cases[1].inputs.features);
  await expect(deepLiftShap(explainer('tabular_mlp.onnx'), { features: x }, { target: 0 } as never)).rejects.toThrow('deeplift-shap needs baseline rows (a distribution, a tensor [K, ...]), got none: --baseline FILE');
  await expect(deepLiftShap(explainer('tabular_mlp.onnx'), { features: x }, { target: 0, baselines: 'zeros' } as never)).rejects.toThrow("deeplift-shap needs baseline rows (a distribution, a tensor [K, ...]), got 'zeros'");
});

test('LeakyRelu is treated as ReLU-like: Guided Backprop keeps the positive part of its gradient, Deconvolution a ReLU of the incoming one', async () => {
  const { GraphBuilder, DataType, makeModel, deconvolution } = await import('@onnx-explain/core');
  // y = w . LeakyRelu(x), alpha 0.1, w = [1, -1, 2, -2]
  const g = new GraphBuilder('leaky');
  const x = g.input('x', DataType.FLOAT, ['N', 4]);
  g.output(g.op('MatMul', [g.op('LeakyRelu', [x], { alpha: 0.1 }), g.constant(Float32Array.of(1, -1, 2, -2), [4, 1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  try {
    const xs = { x: { type: 'float32' as const, dims: [1, 4], data: Float32Array.of(1, 1, -1, -1) } };
    const plain = await saliency(ex, xs, { target: 0, abs: false });
    expect(Array.from(plain.attributions.x.data as Float32Array).map((v) => +v.toFixed(6))).toEqual([1, -1, 0.2, -0.2]);
    const gb = await guidedBackprop(ex, xs, { target: 0 });
    expect(Array.from(gb.attributions.x.data as Float32Array).map((v) => +v.toFixed(6) + 0)).toEqual([1, 0, 0.2, 0]);
    const dc = await deconvolution(ex, xs, { target: 0 });
    expect(Array.from(dc.attributions.x.data as Float32Array).map((v) => +v.toFixed(6) + 0)).toEqual([1, 0, 2, 0]);
  } finally {
    await ex.release();
  }
});

test('Clip with a lower bound of 0 (ReLU6) is ReLU-like for both; another Clip keeps its gradient', async () => {
  const { GraphBuilder, DataType, makeModel, deconvolution } = await import('@onnx-explain/core');
  const clipModel = (lo: number) => {
    const g = new GraphBuilder('clip');
    const x = g.input('x', DataType.FLOAT, ['N', 3]);
    const c = g.op('Clip', [x, g.constant(Float32Array.of(lo), []), g.constant(Float32Array.of(6), [])]);
    g.output(g.op('MatMul', [c, g.constant(Float32Array.of(1, -1, 2), [3, 1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  };
  const xs = { x: { type: 'float32' as const, dims: [1, 3], data: Float32Array.of(1, 2, -0.5) } };
  const relu6 = clipModel(0);
  const other = clipModel(-1);
  try {
    // ReLU6: the gradient is [1, -1, 0]; guided keeps [1, 0, 0]; deconvolution passes relu(w) = [1, 0, 2]
    expect(Array.from((await guidedBackprop(relu6, xs, { target: 0 })).attributions.x.data as Float32Array, (v) => v + 0)).toEqual([1, 0, 0]);
    expect(Array.from((await deconvolution(relu6, xs, { target: 0 })).attributions.x.data as Float32Array, (v) => v + 0)).toEqual([1, 0, 2]);
    // Clip(-1, 6) is not ReLU-like: both are its plain gradient, [1, -1, 2]
    expect(Array.from((await guidedBackprop(other, xs, { target: 0 })).attributions.x.data as Float32Array, (v) => v + 0)).toEqual([1, -1, 2]);
    expect(Array.from((await deconvolution(other, xs, { target: 0 })).attributions.x.data as Float32Array, (v) => v + 0)).toEqual([1, -1, 2]);
  } finally {
    await relu6.release();
    await other.release();
  }
});
