/**
 * Inputs that do not lead with the batch (batchLayout.ts): found from the
 * graph's dimension symbols, or, in a model without symbols, from the
 * leading sizes; held fixed for every example, never attributed. Checked
 * against closed forms: y = a b for a model with a [3, 4] (three examples)
 * and b [4, 3] (no batch axis), and y = x + sum over the batch-on-axis-1
 * input's other axes, whose gradient with respect to x is exactly 1.
 */
import { Explainer, saliency, integratedGradients, GraphBuilder, DataType, makeModel, batchLayout, summarizeModel, transposeTensor, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });
const A = [1, 2, 0.5, -1, 3, 0.75, 1, 2, -2, 1, 1, 0.25];
const Bm = [0.5, -1, 2, 1, 0, 1, -0.5, 2, 1, 3, 1, -1];

function matmulModel() {
  const g = new GraphBuilder('mm');
  const a = g.input('a', DataType.FLOAT, [3, 4]);
  const b = g.input('b', DataType.FLOAT, [4, 3]);
  g.output(g.op('MatMul', [a, b], {}, { output: 'y' }), DataType.FLOAT, [3, 3]);
  return makeModel(g.build(), { opset: 13 });
}

describe('an input without a batch axis (static shapes)', () => {
  test('is found: b [4, 3] leads with 4, a [3, 4] with 3', () => {
    expect(batchLayout(summarizeModel(matmulModel())).layouts).toEqual({ b: { batchAxis: null } });
  });

  test('is held fixed: the gradient of y[i, j] with respect to a[i, :] is b[:, j]; IG is a[i, :] * b[:, j]', async () => {
    const ex = new Explainer(runtime, matmulModel());
    try {
      const inputs = { a: f32([3, 4], A), b: f32([4, 3], Bm) };
      for (const gradients of ['graph', 'fd'] as const) {
        const r = await saliency(ex, inputs, { target: [0, 2, 1], abs: false, gradients });
        expect(Object.keys(r.attributions)).toEqual(['a']);
        const g = r.attributions.a.data as Float32Array;
        [0, 2, 1].forEach((j, i) => [0, 1, 2, 3].forEach((k) => expect(g[i * 4 + k]).toBeCloseTo(Bm[k * 3 + j], gradients === 'fd' ? 3 : 6)));
      }
      const ig = await integratedGradients(ex, inputs, { target: 2, steps: 4 });
      const attr = ig.attributions.a.data as Float32Array;
      for (let i = 0; i < 3; i++) for (let k = 0; k < 4; k++) expect(attr[i * 4 + k]).toBeCloseTo(A[i * 4 + k] * Bm[k * 3 + 2], 5);
      await expect(saliency(ex, inputs, { attribute: ['b'], target: 0 })).rejects.toThrow(/cannot attribute 'b': it has no batch axis/);
    } finally {
      await ex.release();
    }
  });
});

describe('an input with its batch on axis 1 (dimension symbols)', () => {
  // y[n, :] = x[n, :] * 2 + sum_{k, j} s[k, n, j]   (s: [2, batch, 3], like a decoder's past)
  function model() {
    const g = new GraphBuilder('past');
    const x = g.input('x', DataType.FLOAT, ['batch', 3]);
    const s = g.input('s', DataType.FLOAT, [2, 'batch', 3]);
    const perRow = g.op('ReduceSum', [g.op('ReduceSum', [s, g.constant(BigInt64Array.from([0n]), [1])], { keepdims: 0 }), g.constant(BigInt64Array.from([1n]), [1])], { keepdims: 1 });
    g.output(g.op('Add', [g.op('Mul', [x, g.constant(Float32Array.from([2]), [])]), perRow], {}, { output: 'y' }), DataType.FLOAT, ['batch', 3]);
    return makeModel(g.build(), { opset: 13 });
  }
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const s = f32([2, 2, 3], [1, 1, 1, 10, 10, 10, 2, 2, 2, 20, 20, 20]); // row 0 sums to 9, row 1 to 90

  test('is found from the symbol, and kept with its own example: F(x) per row includes its own sum', async () => {
    expect(batchLayout(summarizeModel(model()))).toEqual({ layouts: { s: { batchAxis: 1 } }, symbol: 'batch' });
    const ex = new Explainer(runtime, model());
    try {
      const r = await integratedGradients(ex, { x, s }, { target: 1, steps: 4 });
      expect(r.outputs[0]).toBeCloseTo(2 * 2 + 9, 5);
      expect(r.outputs[1]).toBeCloseTo(2 * 5 + 90, 5);
      // d y[n, 1] / d x[n, :] = [0, 2, 0]; IG = x * grad
      expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([0, 4, 0, 0, 10, 0]);
      await expect(integratedGradients(ex, { x, s: f32([2, 3, 3], new Array(18).fill(0)) }, { target: 1 })).rejects.toThrow("inputs disagree on the batch size: 's' has 3 on its batch axis 1 ('batch'), 'x' has 2");
    } finally {
      await ex.release();
    }
  });

  test('transposeTensor moves axes as a row-major transpose does', () => {
    const t = transposeTensor(f32([2, 3], [1, 2, 3, 4, 5, 6]), [1, 0]);
    expect(t.dims).toEqual([3, 2]);
    expect(Array.from(t.data as Float32Array)).toEqual([1, 4, 2, 5, 3, 6]);
    const u = transposeTensor(s, [1, 0, 2]);
    expect(Array.from(u.data as Float32Array)).toEqual([1, 1, 1, 2, 2, 2, 10, 10, 10, 20, 20, 20]);
  });
});
