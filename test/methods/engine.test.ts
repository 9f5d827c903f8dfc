/**
 * The gradient engine's own choices, against closed forms: the selected
 * value and gradient for class, index and sum targets on a linear model with
 * a 3-d output (both sources, graph and finite differences: for a linear map
 * the exact gradient is the weight matrix's column); the finite-difference
 * step for elements with no scale of their own (a quarter of 1e-2 of the
 * row's mean magnitude, at least 1e-4, times eps32^(1/3), the smallest of
 * the ladder, seen through x^3, whose central difference at 0 is exactly h^2); the default rows per session run
 * (64 MB of activations, at most 64, seen through the progress events); and the
 * refusal of an output the model does not have; and a model pinned to batch 1,
 * run one row at a time (said in its notes), graph and finite differences alike.
 */
import { Explainer, saliency, integratedGradients, GraphBuilder, DataType, makeModel, type Tensor, type TargetSpec } from '@onnx-explain/core';
import { runtime } from '../grad/fd';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });

/** y[n, i, j] = sum_k x[n, k] W[k, 3 i + j], x [N, 4], y [N, 2, 3]; W[k, c] = (k + 1) * (c - 2) / 3 (a row of W does not sum to 0: the sum target is not 0). */
const W = Array.from({ length: 4 }, (_, k) => Array.from({ length: 6 }, (_, c) => ((k + 1) * (c - 2)) / 3));
function linear3d(): Explainer {
  const g = new GraphBuilder('linear3d');
  const x = g.input('x', DataType.FLOAT, ['N', 4]);
  const xw = g.op('MatMul', [x, g.constant(Float32Array.from(W.flat()), [4, 6])]);
  g.output(g.op('Reshape', [xw, g.constant(BigInt64Array.from([-1n, 2n, 3n]), [3])], {}, { output: 'y' }), DataType.FLOAT, ['N', 2, 3]);
  g.output(g.op('Identity', [xw], {}, { output: 'flat' }), DataType.FLOAT, ['N', 6]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}

describe('targets on a 3-d output, from the graph and from finite differences', () => {
  const ex = linear3d();
  afterAll(() => ex.release());
  const xs = [[1, -2, 0.5, 3], [0.25, 1, -1, 2]];
  const x = { x: f32([2, 4], xs.flat()) };
  const yOf = (n: number, c: number) => xs[n].reduce((s, v, k) => s + v * W[k][c], 0);
  const cases: [string, TargetSpec, (c: number) => boolean][] = [
    ['index [1, 2]', { index: [1, 2] }, (c) => c === 5],
    ['index [0, 1]', { index: [0, 1] }, (c) => c === 1],
    ['class 2 (the last axis, summed over the others)', 2, (c) => c % 3 === 2],
    ['the whole row', 'sum', () => true],
  ];
  test.each(cases.flatMap(([name, target, picks]) => (['graph', 'fd'] as const).map((src) => [`${name}, ${src}`, target, picks, src] as const)))(
    '%s',
    async (_, target, picks, gradients) => {
      const r = await saliency(ex, x, { target, gradients, abs: false });
      expect(r.gradientSource).toBe(gradients);
      for (let n = 0; n < 2; n++) {
        // the selected value: the picked outputs summed
        const want = [0, 1, 2, 3, 4, 5].filter(picks).reduce((s, c) => s + yOf(n, c), 0);
        expect(r.outputs[n]).toBeCloseTo(want, 4);
        // the gradient: the picked columns of W summed
        const grad = Array.from(r.attributions.x.data as Float32Array).slice(4 * n, 4 * n + 4);
        const wantGrad = W.map((row) => row.filter((_, c) => picks(c)).reduce((a, b) => a + b, 0));
        grad.forEach((v, k) => expect(v).toBeCloseTo(wantGrad[k], gradients === 'fd' ? 2 : 5));
      }
    },
  );

  test('another output by name; an output the model lacks is refused, naming the ones it has', async () => {
    const r = await saliency(ex, x, { output: 'flat', target: 4, gradients: 'fd', abs: false });
    expect(r.outputs[0]).toBeCloseTo(yOf(0, 4), 4);
    await expect(saliency(ex, x, { output: 'logits', target: 0 })).rejects.toThrow("the model has no output 'logits'; its outputs are 'y', 'flat'");
  });
});

describe('the finite-difference step where an element has no scale of its own', () => {
  /**
   * y = x^3 elementwise: the central difference of y[0] at x[0] = 0 is
   * ((h)^3 - (-h)^3) / 2h = h^2, so it shows the step taken. Of the ladder
   * (h/4, h, the row's scale), consecutive estimates h^2/16, h^2, ... differ
   * by far more than the rounding noise of an output near 0: the smallest
   * step, h/4, is taken.
   */
  function cube(): Explainer {
    const g = new GraphBuilder('cube');
    const x = g.input('x', DataType.FLOAT, ['N', 2]);
    g.output(g.op('Mul', [g.op('Mul', [x, x]), x], {}, { output: 'y' }), DataType.FLOAT, ['N', 2]);
    return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  }
  const cbrtEps = Math.cbrt(2 ** -23);
  test.each([
    ['a quarter of 1e-2 of the row mean |x| (50)', [0, 100], cbrtEps * 0.5],
    ['a quarter of 1e-4 when the whole row is 0', [0, 0], cbrtEps * 1e-4],
    ['a quarter of 1e-4 when the row mean is tiny', [0, 2e-3], cbrtEps * 1e-4],
  ])('%s', async (_, values, h) => {
    const ex = cube();
    const at = async (i: number) => (await saliency(ex, { x: f32([1, 2], values) }, { target: { index: [i] }, gradients: 'fd', abs: false })).attributions.x.data as Float32Array;
    const g0 = await at(0);
    expect(g0[0] / (h / 4) ** 2).toBeCloseTo(1, 3);
    expect(g0[1]).toBe(0);
    // the other element has its own scale: 3 x^2 within the O(h^2) truncation
    if (values[1]) expect((await at(1))[1] / (3 * values[1] ** 2)).toBeCloseTo(1, 3);
    await ex.release();
  });
});

describe('rows per session run', () => {
  /** x [N, D] -> Relu -> Relu -> y: three tensors of D floats per row. */
  function chain(d: number): Explainer {
    const g = new GraphBuilder('chain');
    const x = g.input('x', DataType.FLOAT, ['N', d]);
    g.output(g.op('Relu', [g.op('Relu', [x])], {}, { output: 'y' }), DataType.FLOAT, ['N', d]);
    return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  }
  /** The rows done after each session run while integrating, and the rows in all (the steps and, with them, x and x'). */
  async function batches(d: number, steps: number, internalBatchSize?: number): Promise<{ done: number[]; total: number }> {
    const ex = chain(d);
    const done: number[] = [];
    let total = 0;
    const onProgress = (e: { phase: string; done: number; total: number }) => {
      if (e.phase !== 'integrating') return;
      done.push(e.done);
      total = e.total;
    };
    await integratedGradients(ex, { x: f32([1, d], new Array(d).fill(1)) }, { target: { index: [0] }, steps, internalBatchSize, onProgress });
    await ex.release();
    expect(total).toBeGreaterThanOrEqual(steps);
    return { done, total };
  }
  /** What runs of `size` rows report over `total` rows. */
  const runsOf = (size: number, total: number) => Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(total, (i + 1) * size));

  test('16M floats of activations per run: 3 tensors of 100000 floats a row give 53 rows', async () => {
    const { done, total } = await batches(100_000, 120);
    expect(done).toEqual(runsOf(Math.floor(16_000_000 / 300_000), total));
  });
  test('at most 64 rows for a small model', async () => {
    const { done, total } = await batches(10, 150);
    expect(done).toEqual(runsOf(64, total));
  });
  test('internalBatchSize overrides it', async () => {
    const { done, total } = await batches(10, 10, 4);
    expect(done).toEqual(runsOf(4, total));
  });
});

describe('a model that cannot take more than one row', () => {
  /** x [1, 3] -> Reshape [3, 1] -> MatMul [1, 2] -> Reshape [1, 6]: y[0, 2 i + j] = x_i V_j; the first Reshape pins the batch to 1. */
  const V = [2, -3];
  function pinned(): Explainer {
    const g = new GraphBuilder('pinned');
    const x = g.input('x', DataType.FLOAT, [1, 3]);
    const col = g.op('Reshape', [x, g.constant(BigInt64Array.from([3n, 1n]), [2])]);
    const m = g.op('MatMul', [col, g.constant(Float32Array.from(V), [1, 2])]);
    g.output(g.op('Reshape', [m, g.constant(BigInt64Array.from([1n, 6n]), [2])], {}, { output: 'y' }), DataType.FLOAT, [1, 6]);
    return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  }
  test.each(['graph', 'fd'] as const)('%s: one row per run, said in the notes, same gradients', async (gradients) => {
    const ex = pinned();
    const x = { x: f32([1, 3], [0.5, -1, 2]) };
    const r = await saliency(ex, x, { target: { index: [5] }, gradients, abs: false });
    expect(r.batchNotes).toHaveLength(1);
    expect(r.batchNotes[0]).toMatch(/^runs one row at a time: not batchable as exported \(.+\); after rewriting: .+/);
    expect(r.batchSize).toBe(1);
    expect(r.outputs[0]).toBeCloseTo(2 * V[1], 5);
    const g = Array.from(r.attributions.x.data as Float32Array);
    [0, 0, V[1]].forEach((v, i) => expect(g[i]).toBeCloseTo(v, gradients === 'fd' ? 3 : 6));
    const done: number[] = [];
    const ig = await integratedGradients(ex, x, { target: { index: [5] }, gradients, steps: 4, internalBatchSize: 16, onProgress: (e) => e.phase === 'integrating' && done.push(e.done) });
    expect(done).toEqual(Array.from({ length: done.length }, (_, i) => i + 1));
    expect(done.length).toBeGreaterThanOrEqual(4);
    [0, 0, 2 * V[1]].forEach((v, i) => expect((ig.attributions.x.data as Float32Array)[i]).toBeCloseTo(v, gradients === 'fd' ? 3 : 5));
    await ex.release();
  });
});
