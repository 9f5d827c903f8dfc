/**
 * Integrated Gradients' baselines and bookkeeping against the closed form of
 * a quadratic: for F(x) = sum_k c_k x_k^2, IG from baseline b gives exactly
 * c_k (x_k^2 - b_k^2) (the integrand is linear in alpha, so every rule here
 * is exact). Several baselines are averaged (attributions and F(x')), a
 * one-row baseline is shared by every example, a baseline of the wrong shape
 * is refused naming both shapes; both gradient sources (graph, where F(x) and
 * F(x') ride along as extra rows, and finite differences, where they run
 * apart) give the same; and layer IG reports per-position scores, the sum
 * over the layer's last axis.
 */
import { Explainer, integratedGradients, GraphBuilder, DataType, makeModel } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { C, X, F, quadratic, f32, flat, expectClose } from '../helpers/quadratic';

/** IG of the quadratic from baseline rows `b` (one per example), flat. */
const closedForm = (b: number[][]) => X.flatMap((row, n) => row.map((v, k) => C[k] * (v * v - b[n][k] * b[n][k])));

describe.each(['graph', 'fd'] as const)('gradients from %s', (gradients) => {
  const ex = quadratic();
  afterAll(() => ex.release());
  const x = { x: f32([2, 3], X.flat()) };
  const digits = gradients === 'fd' ? 3 : 5;

  test('a number, one row shared by both examples, and one row per example', async () => {
    const cases: [unknown, number[][]][] = [
      [0.5, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]],
      [f32([1, 3], [1, 0, -2]), [[1, 0, -2], [1, 0, -2]]],
      [f32([2, 3], [1, 0, -2, 0.25, 3, 1]), [[1, 0, -2], [0.25, 3, 1]]],
      [{ x: f32([2, 3], [1, 0, -2, 0.25, 3, 1]) }, [[1, 0, -2], [0.25, 3, 1]]],
      // a tensor the per-name record leaves out starts from zeros
      [{ other: 2 }, [[0, 0, 0], [0, 0, 0]]],
    ];
    for (const [baselines, rows] of cases) {
      const r = await integratedGradients(ex, x, { target: 0, steps: 4, gradients, baselines: baselines as never });
      expect(r.method).toBe('integrated-gradients');
      expect(r.gradientSource).toBe(gradients);
      expectClose(flat(r.attributions.x), closedForm(rows), digits);
      expectClose(r.outputs, X.map(F), 4);
      expectClose(r.baselineOutputs, rows.map(F), 4);
      r.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(gradients === 'fd' ? 1e-2 : 1e-4));
    }
  });

  test('several baselines are averaged, attributions and F(x\') alike, with progress per baseline', async () => {
    const b2 = f32([1, 3], [1, 0, -2]);
    const phases = new Set<string>();
    const r = await integratedGradients(ex, x, { target: 0, steps: 3, gradients, baselines: ['zeros', 1, b2], onProgress: (e) => phases.add(e.phase) });
    const rows = [[0, 0, 0], [1, 1, 1], [1, 0, -2]];
    // the mean over the baselines of the closed form, each baseline shared by both examples
    const perBaseline = rows.map((b) => closedForm([b, b]));
    const want = perBaseline[0].map((_, i) => perBaseline.reduce((s, a) => s + a[i], 0) / 3);
    expectClose(flat(r.attributions.x), want, digits);
    expectClose(r.baselineOutputs, [0, 1].map(() => rows.reduce((s, b) => s + F(b), 0) / 3), 4);
    expectClose(r.outputs, X.map(F), 4);
    r.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(gradients === 'fd' ? 1e-2 : 1e-4));
    for (const p of ['preparing', 'integrating (baseline 1 of 3)', 'integrating (baseline 2 of 3)', 'integrating (baseline 3 of 3)']) expect(phases).toContain(p);
    if (gradients === 'fd') {
      // finite differences would differentiate F(x) and F(x') too: they run apart
      expect(phases).toContain('baseline outputs');
      expect(phases).toContain('outputs');
    } else {
      expect(phases).not.toContain('baseline outputs');
      expect(phases).not.toContain('outputs');
    }
  });

  test('the first progress event says it is preparing', async () => {
    const events: { phase: string; done: number; total: number }[] = [];
    await integratedGradients(ex, x, { target: 0, steps: 2, gradients, onProgress: (e) => events.push(e) });
    expect(events[0]).toEqual({ phase: 'preparing', done: 0, total: 1 });
    expect(events.filter((e) => e.phase === 'integrating').length).toBeGreaterThan(0);
  });
});

describe('baselines that do not fit are refused, naming the shapes', () => {
  const ex = quadratic();
  afterAll(() => ex.release());
  const x = { x: f32([2, 3], X.flat()) };
  test.each([
    [[3, 3], "baseline for 'x' has shape [3, 3], expected [1 or 2, 3]"],
    [[2, 4], "baseline for 'x' has shape [2, 4], expected [1 or 2, 3]"],
    [[1, 2], "baseline for 'x' has shape [1, 2], expected [1 or 2, 3]"],
  ])('%j', async (dims, message) => {
    const b = f32(dims, new Array(dims[0] * dims[1]).fill(0));
    await expect(integratedGradients(ex, x, { target: 0, baselines: b })).rejects.toThrow(message);
  });
  test('model inputs as a baseline need a layer', async () => {
    await expect(integratedGradients(ex, x, { target: 0, baselines: { inputs: x } })).rejects.toThrow("a baseline given as model inputs needs layer attribution ('at')");
  });
});

test('layer IG: per-position scores are the attribution summed over the last axis', async () => {
  // x [N, 2, 3] -> h = 2 x -> y = sum_{t,k} D_{t,k} h_{t,k}^2; IG at h from 0: D h^2
  const D = [1, -1, 0.5, 2, 0.25, -3];
  const g = new GraphBuilder('layer');
  const x = g.input('x', DataType.FLOAT, ['N', 2, 3]);
  const h = g.op('Mul', [x, g.constant(Float32Array.from([2]), [])], {}, { output: 'h' });
  const sq = g.op('Mul', [g.op('Mul', [h, h]), g.constant(Float32Array.from(D), [2, 3])]);
  g.output(g.op('ReduceSum', [sq], { axes: [1, 2], keepdims: 0 }, { output: 'y' }), DataType.FLOAT, ['N']);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 11 }));
  const xs = [0.5, -1, 1, 2, 0, -0.5, 1, 1, -1, 0.25, 3, 2];
  const r = await integratedGradients(ex, { x: f32([2, 2, 3], xs) }, { target: 'sum', at: 'h', steps: 3 });
  const attr = xs.map((v, i) => D[i % 6] * (2 * v) ** 2);
  expect(r.at).toBe('h');
  expectClose(flat(r.attributions.h), attr, 4);
  expect(r.positionScores!.dims).toEqual([2, 2]);
  expectClose(flat(r.positionScores!), [0, 1, 2, 3].map((p) => attr[3 * p] + attr[3 * p + 1] + attr[3 * p + 2]), 4);
  await ex.release();
});
