/**
 * Integrated Gradients with steps: 'auto' against closed forms:
 *  - the quadratic fixture, whose path gradient is linear in alpha: exact at
 *    the first test (5 points);
 *  - F(x) = exp(w . x): with s = w . x and a zero baseline the attributions are
 *    x_i w_i (e^s - 1) / s, and the path is the more curved the larger |s|,
 *    so examples of different s need different step counts.
 */
import { Explainer, GraphBuilder, DataType, makeModel, integratedGradients, integrateAdaptive, rombergPointCount } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { quadratic, C, X, f32, flat, expectClose } from '../helpers/quadratic';

const W = [0.5, -1, 2];

/** y = exp(x W) over x [N, 3], y [N, 1]. */
function exponential(): Explainer {
  const g = new GraphBuilder('exponential');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const s = g.op('MatMul', [x, g.constant(Float32Array.from(W), [3, 1])]);
  g.output(g.op('Exp', [s], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}

const expAttr = (row: number[]) => {
  const s = row.reduce((a, v, i) => a + v * W[i], 0);
  return row.map((v, i) => (v * W[i] * Math.expm1(s)) / s);
};

/** Relative L2 distance. */
const rel = (got: number[], want: number[]) =>
  Math.sqrt(got.reduce((a, v, i) => a + (v - want[i]) ** 2, 0) / want.reduce((a, v) => a + v * v, 0));

test('a path gradient linear in alpha converges at the first test, 5 points, to the closed form', async () => {
  const r = await integratedGradients(quadratic(), { x: f32([2, 3], X.flat()) }, { steps: 'auto', target: 0 });
  expect(r.integration).toBe('romberg');
  expect(r.steps).toBe(5);
  expect(r.adaptive).toEqual({ tolerance: 0.01, stepsPerExample: [5, 5], converged: [true, true], errorEstimate: [expect.any(Number), expect.any(Number)] });
  r.adaptive!.errorEstimate.forEach((e) => expect(e).toBeLessThan(1e-6));
  expectClose(flat(r.attributions.x), X.flatMap((row) => row.map((v, k) => C[k] * v * v)), 5);
  r.delta.forEach((d) => expect(Math.abs(d)).toBeLessThan(1e-5));
});

test('each example takes the steps its own path needs; attributions within the tolerance of the closed form', async () => {
  // s = 0.05 (nearly linear) and s = 6 (e^(a s) spans a factor 400)
  const rows = [[0.1, 0, 0], [2, -1, 2]];
  const ex = exponential();
  for (const tolerance of [1e-2, 1e-4]) {
    const r = await integratedGradients(ex, { x: f32([2, 3], rows.flat()) }, { steps: 'auto', tolerance, target: 0 });
    const a = r.adaptive!;
    expect(a.converged).toEqual([true, true]);
    expect(a.stepsPerExample[0]).toBe(5);
    expect(a.stepsPerExample[1]).toBeGreaterThan(5);
    expect(r.steps).toBe(a.stepsPerExample[1]);
    const got = flat(r.attributions.x);
    rows.forEach((row, e) => {
      expect(rel(got.slice(3 * e, 3 * e + 3), expAttr(row))).toBeLessThan(tolerance);
      const gain = Math.exp(row.reduce((s, v, i) => s + v * W[i], 0)) - 1;
      expect(Math.abs(r.delta[e])).toBeLessThanOrEqual(tolerance * Math.abs(gain));
      // F(x) and F(x') come from the path's ends
      expect(r.outputs[e]).toBeCloseTo(gain + 1, 3);
      expect(r.baselineOutputs[e]).toBe(1);
    });
  }
});

test('no point is evaluated twice: the rows run are the steps reported', async () => {
  const ex = exponential();
  const done: Record<string, number> = {};
  let rowsRun = 0;
  const r = await integratedGradients(ex, { x: f32([2, 3], [2, -1, 2, 1, 1, 1]) }, {
    steps: 'auto',
    tolerance: 1e-3,
    target: 0,
    internalBatchSize: 3,
    onProgress: (p) => {
      // each round of levels is one runRows call, counting from 0 to its rows
      if (p.phase.startsWith('integrating')) {
        if (p.done <= (done[p.phase] ?? 0)) rowsRun += done[p.phase];
        done[p.phase] = p.done;
      }
    },
  });
  rowsRun += done.integrating;
  expect(rowsRun).toBe(r.adaptive!.stepsPerExample.reduce((a, b) => a + b, 0));
  expect(r.batchSize).toBe(3);
});

test('an example that does not converge by maxSteps says so, with its error estimate', async () => {
  const r = await integratedGradients(exponential(), { x: f32([1, 3], [2, -1, 2]) }, { steps: 'auto', tolerance: 1e-9, maxSteps: 16, target: 0 });
  // 16 points allow level 3 (9 points); level 4 would take 17
  expect(r.adaptive!.stepsPerExample).toEqual([rombergPointCount(3)]);
  expect(r.adaptive!.converged).toEqual([false]);
  expect(r.adaptive!.errorEstimate[0]).toBeGreaterThan(1e-9);
});

test('finite differences under steps: auto agree with the closed form too', async () => {
  const row = [2, -1, 2];
  const r = await integratedGradients(exponential(), { x: f32([1, 3], row) }, { steps: 'auto', tolerance: 1e-3, gradients: 'fd', target: 0 });
  expect(r.gradientSource).toBe('fd');
  expect(r.adaptive!.converged).toEqual([true]);
  expect(rel(flat(r.attributions.x), expAttr(row))).toBeLessThan(2e-3);
});

test('several baselines: points summed per example, attributions averaged', async () => {
  const row = [1, -0.5, 0.5];
  const b = [0.2, 0.2, 0.2];
  const r = await integratedGradients(exponential(), { x: f32([1, 3], row) }, { steps: 'auto', tolerance: 1e-4, baselines: ['zeros', f32([1, 3], b)], target: 0 });
  const zeroOnly = await integratedGradients(exponential(), { x: f32([1, 3], row) }, { steps: 'auto', tolerance: 1e-4, target: 0 });
  const otherOnly = await integratedGradients(exponential(), { x: f32([1, 3], row) }, { steps: 'auto', tolerance: 1e-4, baselines: f32([1, 3], b), target: 0 });
  expect(r.adaptive!.stepsPerExample).toEqual([zeroOnly.adaptive!.stepsPerExample[0] + otherOnly.adaptive!.stepsPerExample[0]]);
  expectClose(flat(r.attributions.x), flat(zeroOnly.attributions.x).map((v, i) => (v + flat(otherOnly.attributions.x)[i]) / 2), 6);
  const sb = b.reduce((s, v, i) => s + v * W[i], 0);
  expect(r.baselineOutputs[0]).toBeCloseTo((1 + Math.exp(sb)) / 2, 5);
});

test('bad tolerance or maxSteps is refused before any work', async () => {
  const ex = exponential();
  const x = { x: f32([1, 3], [1, 1, 1]) };
  await expect(integratedGradients(ex, x, { steps: 'auto', tolerance: 0 })).rejects.toThrow(/tolerance must be in \(0, 1\), got 0/);
  await expect(integratedGradients(ex, x, { steps: 'auto', tolerance: 1 })).rejects.toThrow(/got 1$/);
  await expect(integratedGradients(ex, x, { steps: 'auto', maxSteps: 4 })).rejects.toThrow(/maxSteps must be an integer of at least 5 with steps: 'auto', got 4/);
  await expect(integratedGradients(ex, x, { steps: 'auto', maxSteps: 8.5 })).rejects.toThrow(/got 8.5/);
});

test('integrateAdaptive on a known integrand: gradients e^(a s) w along the path', async () => {
  // one example, one tensor of 2 values, x - x' = [1, 2]; g(a) = [e^(3a), -e^(3a)]
  const r = await integrateAdaptive(1, { t: Float32Array.from([1, 2]) }, async (rows, consume) => {
    const g = new Float32Array(rows.length * 2);
    rows.forEach((p, j) => {
      g[2 * j] = Math.exp(3 * p.alpha);
      g[2 * j + 1] = -Math.exp(3 * p.alpha);
    });
    consume(0, rows.length, { t: g });
    // F along the path with gradient g . (x - x'): F(a) = -(e^(3a) - 1) / 3
    return Float64Array.from(rows, (p) => -Math.expm1(3 * p.alpha) / 3);
  }, { tolerance: 1e-6 });
  const want = Math.expm1(3) / 3;
  expect(r.integral.t[0]).toBeCloseTo(want, 5);
  expect(r.integral.t[1]).toBeCloseTo(-want, 5);
  expect(r.atBaseline[0]).toBe(-0);
  expect(r.atInput[0]).toBeCloseTo(-want, 12);
  expect(r.report.converged).toEqual([true]);
});

describe('integrateAdaptive on made-up paths', () => {
  test('two tensors keep their own integrals (offsets, no spill from one into the next)', async () => {
    // g(a) = [3 a^2] for t and [2, -1] for u: integrals 1, then 2 and -1
    const r = await integrateAdaptive(1, { t: Float32Array.from([1]), u: Float32Array.from([1, 1]) }, async (rows, consume) => {
      consume(0, rows.length, {
        t: Float32Array.from(rows, (p) => 3 * p.alpha * p.alpha),
        u: Float32Array.from(rows.flatMap(() => [2, -1])),
      });
      return Float64Array.from(rows, (p) => p.alpha ** 3 + p.alpha);
    });
    expect(r.integral.t[0]).toBeCloseTo(1, 12);
    expect(Array.from(r.integral.u)).toEqual([2, -1]);
    expect(r.report.converged).toEqual([true]);
  });

  test('an input equal to its baseline (nothing to attribute) converges at once', async () => {
    const r = await integrateAdaptive(1, { t: Float32Array.from([0, 0]) }, async (rows, consume) => {
      consume(0, rows.length, { t: Float32Array.from(rows.flatMap((p) => [p.alpha, 1])) });
      return new Float64Array(rows.length).fill(2);
    });
    expect(r.report).toEqual({ tolerance: 0.01, stepsPerExample: [5], converged: [true], errorEstimate: [0] });
  });

  test('settled attributions whose completeness gap stays open do not converge', async () => {
    // the gradient is 1 everywhere (the change is 0 from the start), but F rises by 5 along the path: a gap of 4
    const r = await integrateAdaptive(1, { t: Float32Array.from([1]) }, async (rows, consume) => {
      consume(0, rows.length, { t: new Float32Array(rows.length).fill(1) });
      return Float64Array.from(rows, (p) => 5 * p.alpha);
    }, { maxSteps: 5 });
    expect(r.report.stepsPerExample).toEqual([5]);
    expect(r.report.converged).toEqual([false]);
    expect(r.report.errorEstimate).toEqual([0]);
  });
});
