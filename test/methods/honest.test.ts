/**
 * A result is right or it is refused (the calls refusals.test.ts covers are
 * malformed; these are well-formed and wrong for the model). Targets are checked against the
 * output's probed shape before any work (a bad one is never a reason to fall
 * back to finite differences); finite differences refuse a pass out of all
 * proportion; NaN and Inf never come out as an answer; the default output is
 * the first floating-point one, for the methods and the coverage alike; and
 * a completeness gap too large for the steps is reported. Expected values
 * are closed forms of the small models built here.
 */
import {
  Explainer,
  TargetError,
  integratedGradients,
  saliency,
  gradientShap,
  noiseTunnel,
  gradientCoverage,
  explainedOutput,
  GraphBuilder,
  DataType,
  makeModel,
  type Tensor,
  type ProgressEvent,
} from '@onnx-explain/core';
import { runtime } from '../grad/fd';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });

/** y [N, 2, 3] = reshape(x [N, 4] @ W), W[k, c] = k - c / 2. */
const W = Array.from({ length: 4 }, (_, k) => Array.from({ length: 6 }, (_, c) => k - c / 2));
function grid(): Explainer {
  const g = new GraphBuilder('grid');
  const x = g.input('x', DataType.FLOAT, ['N', 4]);
  const xw = g.op('MatMul', [x, g.constant(Float32Array.from(W.flat()), [4, 6])]);
  g.output(g.op('Reshape', [xw, g.constant(BigInt64Array.from([-1n, 2n, 3n]), [3])], {}, { output: 'y' }), DataType.FLOAT, ['N', 2, 3]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}
const x = { x: f32([1, 4], [1, -2, 0.5, 3]) };

describe('targets are checked against the output shape, before any work', () => {
  const ex = grid();
  afterAll(() => ex.release());

  test.each([
    [{ index: [3, 4] }, /^target index \[3, 4\] does not index output 'y' of shape \[N, 2, 3\]: it takes 2 values, one per non-batch axis, each below \[2, 3\]$/],
    [{ index: [1] }, /^target index \[1\] does not index output 'y' of shape \[N, 2, 3\]: it takes 2 values/],
    [{ index: [0, 1, 2] }, /does not index output 'y'/],
    [{ index: [0, -1] }, /does not index output 'y'/],
    [{ index: [0.5, 1] }, /does not index output 'y'/],
    [3, /^target 3 is out of range: output 'y' of shape \[N, 2, 3\] has 3 classes \(0 to 2\)$/],
    [undefined, /^output 'y' has shape \[N, 2, 3\], not \[N, classes\], so there is no top class to explain: give the target as an index over its non-batch axes \(e\.g\. 1,1\) or 'sum'$/],
  ])('%j is refused with the shape, graph and finite differences alike', async (target, message) => {
    for (const gradients of ['auto', 'fd'] as const) {
      const events: ProgressEvent[] = [];
      const run = integratedGradients(ex, x, { target: target as never, gradients, steps: 8, onProgress: (e) => events.push(e) });
      await expect(run).rejects.toThrow(TargetError);
      await expect(run).rejects.toThrow(message);
      expect(events.filter((e) => e.phase !== 'preparing')).toEqual([]);
    }
  });

  test('a valid index and the sum give the closed form, finite', async () => {
    const r = await saliency(ex, x, { target: { index: [1, 2] }, abs: false });
    expect(Array.from(r.attributions.x.data as Float32Array)).toEqual(W.map((row) => row[5]));
    const s = await saliency(ex, x, { target: 'sum', abs: false });
    expect(Array.from(s.attributions.x.data as Float32Array)).toEqual(W.map((row) => row.reduce((a, b) => a + b, 0)));
  });
});

test('a model with one value per example is explained with the sum target, and told so otherwise', async () => {
  const g = new GraphBuilder('scalar');
  const xin = g.input('x', DataType.FLOAT, ['N', 2]);
  g.output(g.op('ReduceSum', [g.op('Mul', [xin, xin]), g.constant(BigInt64Array.from([1n]), [1])], { keepdims: 0 }, { output: 'score' }), DataType.FLOAT, ['N']);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  const xs = { x: f32([1, 2], [3, -1]) };
  await expect(saliency(ex, xs)).rejects.toThrow(/^output 'score' has shape \[N\], one value per example: explain it with the target 'sum'$/);
  const r = await saliency(ex, xs, { target: 'sum', abs: false });
  expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([6, -2]);
  await ex.release();
});

test('finite differences refuse a pass past maxEvaluations, with the count, before running it', async () => {
  const ex = grid();
  const events: ProgressEvent[] = [];
  // 4 elements: (6 * 4 + 1) evaluations per row (a central pair at each of three steps); IG over 10 steps runs 10 rows
  const run = integratedGradients(ex, x, { target: { index: [0, 0] }, gradients: 'fd', steps: 10, maxEvaluations: 249, onProgress: (e) => events.push(e) });
  await expect(run).rejects.toThrow(/^finite differences would take 250 model evaluations \(4 attributed elements, 6 per element and row, 10 rows\), over the limit of 249; they are used because finite differences were asked for\./);
  expect(events.filter((e) => e.phase === 'integrating')).toEqual([]);
  const ok = await integratedGradients(ex, x, { target: { index: [0, 0] }, gradients: 'fd', steps: 10, maxEvaluations: 250 });
  // linear: IG = x * W[:, 0] exactly, up to float32 differences
  (ok.attributions.x.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo([1, -2, 0.5, 3][k] * W[k][0], 4));
  await ex.release();
});

test('an input holding NaN or Inf is refused, naming the input and the position', async () => {
  const ex = grid();
  await expect(saliency(ex, { x: f32([1, 4], [1, NaN, 0, 0]) }, { target: 'sum' })).rejects.toThrow(/^input 'x' holds NaN at flat index 1: attributions need finite inputs$/);
  await expect(saliency(ex, { x: f32([1, 4], [1, 0, 0, -Infinity]) }, { target: 'sum' })).rejects.toThrow(/^input 'x' holds -Infinity at flat index 3/);
  await ex.release();
});

test('a model whose output is not finite at the input gives an error, not NaN', async () => {
  // y = log(x): at x = -1 the output is NaN, its gradient 1/x finite
  const g = new GraphBuilder('log');
  const xin = g.input('x', DataType.FLOAT, ['N', 2]);
  g.output(g.op('Log', [xin], {}, { output: 'y' }), DataType.FLOAT, ['N', 2]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  await expect(saliency(ex, { x: f32([1, 2], [-1, 2]) }, { target: 0 })).rejects.toThrow(/^saliency: no finite result: the explained output is NaN for example 0$/);
  const r = await saliency(ex, { x: f32([1, 2], [4, 2]) }, { target: 0, abs: false });
  expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([0.25, 0]);
  await ex.release();
});

describe('the default output is the first floating-point one, everywhere', () => {
  // a classifier as skl2onnx writes it: an int64 label first, then the scores
  function labelled(): ReturnType<typeof makeModel> {
    const g = new GraphBuilder('labelled');
    const xin = g.input('x', DataType.FLOAT, ['N', 3]);
    const scores = g.op('MatMul', [xin, g.constant(Float32Array.from([1, 0, 0, 2, -1, 1]), [3, 2])], {}, { output: 'probabilities' });
    g.output(g.op('ArgMax', [scores], { axis: 1, keepdims: 0 }, { output: 'label' }), DataType.INT64, ['N']);
    g.output(scores, DataType.FLOAT, ['N', 2]);
    return makeModel(g.build(), { opset: 13 });
  }

  test('explainedOutput, the coverage and the methods agree on it', async () => {
    const model = labelled();
    expect(explainedOutput(model)).toBe('probabilities');
    expect(gradientCoverage(model).output).toBe('probabilities');
    const ex = new Explainer(runtime, model);
    const r = await saliency(ex, { x: f32([1, 3], [1, 2, 3]) }, { abs: false });
    // scores [1 + 0 - 3, 0 + 4 + 3] = [-2, 7]: the top class is 1, its gradient W[:, 1]
    expect(r.classes).toEqual([1]);
    expect(r.outputName).toBe('probabilities');
    expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([0, 2, 1]);
    await ex.release();
  });

  test('asking for the int64 label by name is still refused with the outputs listed', () => {
    expect(() => explainedOutput(labelled(), 'nope')).toThrow("the model has no output 'nope'; its outputs are 'label', 'probabilities'");
  });
});

test.each([
  ['internalBatchSize 0', { internalBatchSize: 0 }, /^internalBatchSize must be a positive integer, got 0$/],
  ['internalBatchSize 1.5', { internalBatchSize: 1.5 }, /^internalBatchSize must be a positive integer, got 1\.5$/],
  ['maxEvaluations -1', { maxEvaluations: -1 }, /^maxEvaluations must be a positive integer, got -1$/],
  ['gradients numeric', { gradients: 'numeric' }, /^gradients must be 'auto', 'graph' or 'fd', got 'numeric'$/],
])('library options are checked before any work: %s', async (_, opts, message) => {
  const ex = grid();
  const events: ProgressEvent[] = [];
  await expect(integratedGradients(ex, x, { target: 'sum', ...(opts as object), onProgress: (e) => events.push(e) })).rejects.toThrow(message);
  await expect(saliency(ex, x, { target: 'sum', ...(opts as object) })).rejects.toThrow(message);
  expect(events.filter((e) => e.phase !== 'preparing')).toEqual([]);
  await ex.release();
});

test.each([
  ['samples 0', { samples: 0 }, /^samples must be a positive integer, got 0$/],
  ['samples -3', { samples: -3 }, /^samples must be a positive integer, got -3$/],
  ['stdev NaN', { stdev: NaN }, /^stdev must be a finite number >= 0, got NaN$/],
  ['stdev -1', { stdev: -1 }, /^stdev must be a finite number >= 0, got -1$/],
])('noise tunnel and GradientSHAP check their own options: %s', async (_, opts, message) => {
  const ex = grid();
  await expect(noiseTunnel(ex, x, { target: 'sum', ...opts })).rejects.toThrow(message);
  await expect(gradientShap(ex, x, { target: 'sum', ...opts })).rejects.toThrow(message);
  await ex.release();
});

test('steps past MAX_STEPS are refused before any work; the largest allowed rule is exact', async () => {
  const ex = grid();
  await expect(integratedGradients(ex, x, { target: 'sum', steps: 100_000 })).rejects.toThrow(/^steps 100000 is more than the 10,000 a rule may take/);
  const r = await integratedGradients(ex, x, { target: { index: [1, 1] }, steps: 10_000, internalBatchSize: 4096 });
  expect(r.steps).toBe(10_000);
  (r.attributions.x.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo([1, -2, 0.5, 3][k] * W[k][4], 4));
  await ex.release();
});

test('IG reports a completeness gap too large for its steps, and none when the steps suffice', async () => {
  // y = sum(x^4): the integral along the path is far from a 2-point rule's
  const g = new GraphBuilder('quartic');
  const xin = g.input('x', DataType.FLOAT, ['N', 2]);
  const sq = g.op('Mul', [xin, xin]);
  g.output(g.op('ReduceSum', [g.op('Mul', [sq, sq]), g.constant(BigInt64Array.from([1n]), [1])], { keepdims: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
  const xs = { x: f32([1, 2], [1.5, -2]) };
  const rough = await integratedGradients(ex, xs, { target: 0, steps: 1, integration: 'riemann_left' });
  // riemann_left with one step evaluates the gradient at the baseline, 0: every attribution is 0, the gap all of F(x) - F(0)
  expect(rough.delta[0]).toBeCloseTo(-(1.5 ** 4 + 2 ** 4), 3);
  expect(rough.warnings).toEqual([expect.stringMatching(/^example 0: completeness gap -2\.11e\+1 is 100\.0% of F\(x\) - F\(baseline\) = 2\.11e\+1; the attributions are not converged: take more steps/)]);
  const fine = await integratedGradients(ex, xs, { target: 0, steps: 16 });
  expect(Math.abs(fine.delta[0])).toBeLessThan(1e-3);
  expect(fine.warnings).toBeUndefined();
  await ex.release();
});

test('GradientSHAP reports the baseline expectation it compares the sum with', async () => {
  const ex = grid();
  // one baseline row b = [1, 1, 1, 1]: on this linear output F(b) = b . W[:, 1] (the closed form fAt),
  // and every draw's attribution is W[:, 1] (x - b), so the sum equals F(x) - F(b)
  const b = [1, 1, 1, 1];
  const xs = [1, -2, 0.5, 3];
  const fAt = (row: number[]) => row.reduce((acc, v, k) => acc + v * W[k][1], 0);
  const r = await gradientShap(ex, x, { target: { index: [0, 1] }, baselines: f32([1, 4], b), samples: 8 });
  expect(r.baselineOutputs).toHaveLength(1);
  expect(r.baselineOutputs![0]).toBeCloseTo(fAt(b), 5);
  expect(r.outputs[0]).toBeCloseTo(fAt(xs), 5);
  (r.attributions.x.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo(W[k][1] * (xs[k] - b[k]), 5));
  expect(Math.abs(r.delta![0])).toBeLessThan(1e-5);
  await ex.release();
});
