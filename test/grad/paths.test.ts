/**
 * One differentiable-path analysis (grad/paths.ts) behind both
 * buildGradientModel and gradientCoverage: where they used to disagree,
 * `inspect` promised graph gradients that `attribute` replaced with finite
 * differences, or the two talked about different outputs.
 */
import { buildGradientModel, gradientCoverage, probeShapes, GraphBuilder, DataType, makeModel, Explainer, saliency, type Tensor } from '@onnx-explain/core';
import { runtime } from './fd';

const x: Tensor = { type: 'float32', dims: [1, 3], data: Float32Array.from([0.5, -1, 2]) };

test("a node whose domain is written 'ai.onnx' has its rule for both: coverage says graph, and the builder differentiates it", async () => {
  const g = new GraphBuilder('aionnx');
  const inp = g.input('x', DataType.FLOAT, ['N', 3]);
  const t = g.op('Tanh', [inp], {}, { domain: 'ai.onnx' });
  g.output(g.op('Mul', [t, g.constant(Float32Array.from([1, 2, 3]), [3])], {}, { output: 'y' }), DataType.FLOAT, ['N', 3]);
  const model = makeModel(g.build(), { opset: 13 });
  expect(gradientCoverage(model).verdict).toBe('graph');
  const shapes = await probeShapes(runtime, model, { x });
  expect(() => buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], shapes })).not.toThrow();
  const ex = new Explainer(runtime, model);
  try {
    const r = await saliency(ex, { x }, { target: 2, abs: false });
    expect(r.gradientSource).toBe('graph');
    // d (3 tanh(x2)) / d x2 = 3 (1 - tanh^2(2))
    expect(Array.from(r.attributions.x.data as Float32Array)[2]).toBeCloseTo(3 * (1 - Math.tanh(2) ** 2), 5);
  } finally {
    await ex.release();
  }
});

test('a classifier whose first output is an int64 label: coverage and the builder both explain the first float output', async () => {
  const g = new GraphBuilder('labelled');
  const inp = g.input('x', DataType.FLOAT, ['N', 3]);
  const probs = g.op('Softmax', [inp], { axis: 1 }, { output: 'probabilities' });
  g.output(g.op('ArgMax', [probs], { axis: 1, keepdims: 0 }, { output: 'label' }), DataType.INT64, ['N']);
  g.output(probs, DataType.FLOAT, ['N', 3]);
  const model = makeModel(g.build(), { opset: 13 });
  expect(gradientCoverage(model).output).toBe('probabilities');
  const shapes = await probeShapes(runtime, model, { x });
  expect(buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], shapes }).output).toBe('probabilities');
});
