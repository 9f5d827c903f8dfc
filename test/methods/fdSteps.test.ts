/**
 * The finite-difference step (engine.ts, finiteDifferences), against closed
 * forms. A zero element used to get a step of 1e-2 of its row's scale
 * times eps^(1/3), so small that an output of magnitude 1000 rounded in
 * float32 swamped the difference; it is now measured again at the row's
 * scale, and that estimate kept when the two agree within the first's
 * rounding noise. Where the function bends at the element's own, smaller
 * scale, they do not agree and the small step stands.
 */
import { Explainer, saliency, GraphBuilder, DataType, makeModel, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });

test('zero elements under a large output: the gradient of x . w + 1000 is w to 1e-2, as for the nonzero ones', async () => {
  const w = [0.3, -1.2, 0.05, 2, -0.7, 1.1, 0.4, -0.25];
  const g = new GraphBuilder('affine');
  const x = g.input('x', DataType.FLOAT, ['N', 8]);
  const xw = g.op('MatMul', [x, g.constant(Float32Array.from(w), [8, 1])]);
  g.output(g.op('Add', [xw, g.constant(Float32Array.from([1000]), [1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  try {
    const r = await saliency(ex, { x: f32([1, 8], [0, 0, 3, 0, 1.5, 0, 0, 2]) }, { target: 0, abs: false, gradients: 'fd' });
    const got = Array.from(r.attributions.x.data as Float32Array);
    // one ulp of 1000 is 6.1e-5: over a step of 4e-3 (the row's scale, 0.81, times eps^(1/3)) that is 7.6e-3;
    // the old step for the zeros (1e-2 of it) was off by up to 0.57
    got.forEach((v, i) => expect(Math.abs(v - w[i])).toBeLessThan(1e-2));
  } finally {
    await ex.release();
  }
});

test('a zero element where the function bends at its own small scale keeps the small step: d tanh(100 x0) / d x0 = 100 at 0', async () => {
  // y = tanh(100 x0) + x1; x = [0, 5]: the row's scale (2.5) would step x0 far into tanh's saturation
  const g = new GraphBuilder('bend');
  const x = g.input('x', DataType.FLOAT, ['N', 2]);
  const k = g.op('Mul', [x, g.constant(Float32Array.from([100, 1]), [2])]);
  const t = g.op('Mul', [g.op('Tanh', [k]), g.constant(Float32Array.from([1, 0]), [2])]);
  const lin = g.op('Mul', [x, g.constant(Float32Array.from([0, 1]), [2])]);
  g.output(g.op('ReduceSum', [g.op('Add', [t, lin]), g.constant(BigInt64Array.from([1n]), [1])], { keepdims: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  try {
    const r = await saliency(ex, { x: f32([1, 2], [0, 5]) }, { target: 0, abs: false, gradients: 'fd' });
    const [g0, g1] = Array.from(r.attributions.x.data as Float32Array);
    expect(Math.abs(g0 - 100)).toBeLessThan(1);
    expect(Math.abs(g1 - 1)).toBeLessThan(1e-3);
  } finally {
    await ex.release();
  }
});
