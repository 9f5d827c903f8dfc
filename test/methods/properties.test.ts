/**
 * The paper's examples as tests (Sundararajan et al. 2017: sensitivity,
 * implementation invariance, symmetry), closed forms, batching invariance,
 * finite differences against the graph, several inputs and baselines,
 * progress and cancellation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Explainer,
  integratedGradients,
  saliency,
  inputXGradient,
  noiseTunnel,
  gradientShap,
  gradCam,
  GraphBuilder,
  DataType,
  makeModel,
  decodeModel,
  gradientCoverage,
  finiteDifferenceReason,
  type Tensor,
  type ModelProto,
} from '@onnx-explain/core';
import { runtime, relL2 } from '../grad/fd';
import { repoRoot } from '../helpers/ort';
import { sample, stackRows } from '../helpers/samples';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });
const attr = (r: { attributions: Record<string, Tensor> }, name: string) => Array.from(r.attributions[name].data as Float32Array);

/** f(x) = 1 - ReLU(1 - x), the paper's example of a flat gradient at the input. */
function paperModel(): ModelProto {
  const b = new GraphBuilder('paper');
  const x = b.input('x', DataType.FLOAT, ['N', 1]);
  const one = b.constant(Float32Array.from([1]), []);
  b.output(b.op('Sub', [one, b.op('Relu', [b.op('Sub', [one, x])])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  return makeModel(b.build(), { opset: 13 });
}

describe("the paper's axioms", () => {
  test('sensitivity: f(x) = 1 - ReLU(1 - x) at x = 2 from 0 gets attribution 1 where the gradient is 0', async () => {
    const ex = new Explainer(runtime, paperModel());
    const x = { x: f32([1, 1], [2]) };
    const ig = await integratedGradients(ex, x, { target: 0 });
    expect(attr(ig, 'x')[0]).toBeCloseTo(1, 2); // F(2) - F(0) = 1 - 0
    expect(ig.outputs[0]).toBeCloseTo(1, 6);
    expect(ig.baselineOutputs[0]).toBeCloseTo(0, 6);
    const sal = await saliency(ex, x, { target: 0, abs: false });
    expect(Math.abs(attr(sal, 'x')[0])).toBe(0);
    // with the midpoint rule over 100 steps, half the points lie on the slope: exactly 1
    const mid = await integratedGradients(ex, x, { target: 0, integration: 'riemann_middle', steps: 100 });
    expect(attr(mid, 'x')[0]).toBeCloseTo(1, 5);
    await ex.release();
  });

  test('implementation invariance: two differently built networks computing the same function get the same attributions', async () => {
    // A: y = ReLU(x W1) w2;  B: the same hidden units in another order, plus a dead unit, with Gemm instead of MatMul
    const W1 = [[1, -2, 0.5], [0.3, 1, -1]];
    const w2 = [1.5, -0.7, 2];
    const a = new GraphBuilder('A');
    const xa = a.input('x', DataType.FLOAT, ['N', 2]);
    const ha = a.op('Relu', [a.op('MatMul', [xa, a.constant(Float32Array.from(W1.flat()), [2, 3])])]);
    a.output(a.op('MatMul', [ha, a.constant(Float32Array.from(w2), [3, 1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const perm = [2, 0, 1];
    const b = new GraphBuilder('B');
    const xb = b.input('x', DataType.FLOAT, ['N', 2]);
    const W1b = [0, 1].map((i) => [...perm.map((j) => W1[i][j]), 5]); // unit 4 has weight 0 to the output
    const hb = b.op('Relu', [b.op('Gemm', [xb, b.constant(Float32Array.from(W1b.flat()), [2, 4]), b.constant(Float32Array.from([0, 0, 0, 0]), [4])])]);
    b.output(b.op('Gemm', [hb, b.constant(Float32Array.from([...perm.map((j) => w2[j]), 0]), [4, 1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const x = { x: f32([2, 2], [0.8, -0.3, -1.2, 2]) };
    const A = new Explainer(runtime, makeModel(a.build(), { opset: 13 }));
    const B = new Explainer(runtime, makeModel(b.build(), { opset: 13 }));
    const ia = await integratedGradients(A, x, { target: 0 });
    const ib = await integratedGradients(B, x, { target: 0 });
    expect(relL2(attr(ia, 'x'), attr(ib, 'x'))).toBeLessThan(1e-6);
    expect(ib.outputs.length).toBe(2);
    ib.outputs.forEach((v, i) => expect(v).toBeCloseTo(ia.outputs[i], 5));
    await A.release();
    await B.release();
  });

  test('symmetry: inputs the function treats symmetrically, equal in input and baseline, get equal attributions', async () => {
    // y = sigmoid(x1 + x2) * x3: x1 and x2 are symmetric
    const b = new GraphBuilder('sym');
    const x = b.input('x', DataType.FLOAT, ['N', 3]);
    const [x1, x2, x3] = b.opN('Split', [x, b.constant(BigInt64Array.from([1n, 1n, 1n]), [3])], 3, { axis: 1 });
    b.output(b.op('Mul', [b.op('Sigmoid', [b.op('Add', [x1, x2])]), x3], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const ex = new Explainer(runtime, makeModel(b.build(), { opset: 13 }));
    const r = await integratedGradients(ex, { x: f32([1, 3], [0.7, 0.7, 2]) }, { target: 0 });
    const [a1, a2] = attr(r, 'x');
    expect(a1).toBeCloseTo(a2, 6);
    expect(Math.abs(r.delta[0])).toBeLessThan(1e-4);
    await ex.release();
  });

  test('closed form: F(x) = sum c_i x_i^2 from 0 has IG_i = c_i x_i^2 (Gauss-Legendre is exact on polynomials)', async () => {
    const c = [1, -2, 0.5, 3];
    const b = new GraphBuilder('quad');
    const x = b.input('x', DataType.FLOAT, ['N', 4]);
    b.output(b.op('ReduceSum', [b.op('Mul', [b.op('Mul', [x, x]), b.constant(Float32Array.from(c), [4])]), b.constant(BigInt64Array.from([1n]), [1])], { keepdims: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const ex = new Explainer(runtime, makeModel(b.build(), { opset: 13 }));
    const xs = [0.5, -1.5, 2, 0.25];
    const r = await integratedGradients(ex, { x: f32([1, 4], xs) }, { target: 0, steps: 4 });
    attr(r, 'x').forEach((v, i) => expect(v).toBeCloseTo(c[i] * xs[i] * xs[i], 5));
    await ex.release();
  });
});

function load(name: string) {
  return decodeModel(fs.readFileSync(path.join(repoRoot, 'models', name)));
}
const npy = sample;
const stack = stackRows;

describe('batching', () => {
  test('internalBatchSize 1, 7 and 64 give the same attributions (several examples, own targets)', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const x = { image: stack([npy('digit_0.npy'), npy('digit_3.npy')]) };
    const results = [];
    for (const internalBatchSize of [1, 7, 64]) results.push(await integratedGradients(ex, x, { target: [0, 8], steps: 20, internalBatchSize }));
    for (const r of results.slice(1)) expect(relL2(attr(r, 'image'), attr(results[0], 'image'))).toBeLessThan(1e-6);
    expect(results[0].classes).toEqual([0, 8]);
    await ex.release();
  });
});

describe('finite differences', () => {
  test('agree with the graph on the tabular MLP and the text model (relative L2 < 1e-2)', async () => {
    for (const [file, input, sample, at] of [
      ['tabular_mlp.onnx', 'features', 'patient_0.npy', undefined],
      ['text_classifier.onnx', 'token_ids', 'review_negative.npy', '/embedding/Gather_output_0'],
    ] as const) {
      const ex = new Explainer(runtime, load(file));
      const x = { [input]: npy(sample) };
      const graph = await integratedGradients(ex, x, { steps: 16, at, gradients: 'graph' });
      const fd = await integratedGradients(ex, x, { steps: 16, at, gradients: 'fd' });
      expect(graph.gradientSource).toBe('graph');
      expect(fd.gradientSource).toBe('fd');
      expect(fd.fdReason).toBe('finite differences were asked for');
      const name = at ?? input;
      expect(relL2(attr(fd, name), attr(graph, name))).toBeLessThan(1e-2);
      await ex.release();
    }
  });

  test('saliency agrees with the graph on the digits CNN (zero pixels), the text model and the byte LSTM (relative L2 < 1e-2)', async () => {
    // one step per element gave 2.8e-2, 2.1e-2 and 0.33 here: zero pixels and small components drowned in float32 rounding
    const lstm = decodeModel(fs.readFileSync(path.join(repoRoot, 'test/fixtures/lowered/tract_byte_sb_bidi_lstm.onnx')));
    const bytes: Tensor = { type: 'uint8', dims: [1, 12], data: Uint8Array.from(Buffer.from('Hello there.')) };
    for (const [model, x, opts] of [
      [load('digits_cnn.onnx'), { image: npy('digit_3.npy') }, {}],
      [load('text_classifier.onnx'), { token_ids: npy('review_negative.npy') }, { at: '/embedding/Gather_output_0' }],
      [lstm, { input: bytes }, { at: '21', target: { index: [5, 1] } }],
    ] as const) {
      const ex = new Explainer(runtime, model);
      const graph = await saliency(ex, x, { ...opts, abs: false, gradients: 'graph' });
      const fd = await saliency(ex, x, { ...opts, abs: false, gradients: 'fd' });
      const name = Object.keys(graph.attributions)[0];
      expect(relL2(attr(fd, name), attr(graph, name))).toBeLessThan(1e-2);
      await ex.release();
    }
  });

  test("gradients: 'graph' on a model with an op that has neither rule nor lowering fails with the op named", async () => {
    // Det: onnxruntime runs it; no gradient rule, no lowering
    const g = new GraphBuilder('det');
    const x = g.input('x', DataType.FLOAT, ['N', 2, 2]);
    g.output(g.op('Unsqueeze', [g.op('Det', [x]), g.constant(BigInt64Array.from([1n]), [1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const ex = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
    const x0 = f32([1, 2, 2], [1, 2, 3, 5]);
    await expect(integratedGradients(ex, { x: x0 }, { target: 0, gradients: 'graph' })).rejects.toThrow(/no gradient rule for op Det/);
    // by default, finite differences, saying why: d det / dX = det * X^-T = [[5, -3], [-2, 1]] here
    const r = await saliency(ex, { x: x0 }, { target: 0, abs: false });
    expect(r.gradientSource).toBe('fd');
    // the reason is inspect's, from the same analysis
    expect(r.fdReason).toBe('no gradient rule or lowering for Det (Det_node)');
    expect(finiteDifferenceReason(gradientCoverage(ex.model))).toBe(r.fdReason);
    attr(r, 'x').forEach((v, i) => expect(v).toBeCloseTo([5, -3, -2, 1][i], 3));
    await ex.release();
  });
});

describe('inputs, baselines, targets', () => {
  /** y = [x . a + sum(b^2), x . a - sum(b)] with two inputs. */
  function twoInputs(): ModelProto {
    const g = new GraphBuilder('two');
    const x = g.input('x', DataType.FLOAT, ['N', 3]);
    const b = g.input('b', DataType.FLOAT, ['N', 2]);
    const axes = g.constant(BigInt64Array.from([1n]), [1]);
    const xa = g.op('ReduceSum', [g.op('Mul', [x, g.constant(Float32Array.from([1, -1, 2]), [3])]), axes], { keepdims: 1 });
    const b2 = g.op('ReduceSum', [g.op('Mul', [b, b]), axes], { keepdims: 1 });
    const bs = g.op('ReduceSum', [b, axes], { keepdims: 1 });
    g.output(g.op('Concat', [g.op('Add', [xa, b2]), g.op('Sub', [xa, bs])], { axis: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 2]);
    return makeModel(g.build(), { opset: 13 });
  }
  const inputs = { x: f32([1, 3], [1, 2, 3]), b: f32([1, 2], [0.5, -1]) };

  test('attributing one input holds the other fixed; both at once share completeness', async () => {
    const ex = new Explainer(runtime, twoInputs());
    const onlyX = await integratedGradients(ex, inputs, { target: 0, attribute: ['x'] });
    expect(Object.keys(onlyX.attributions)).toEqual(['x']);
    expect(attr(onlyX, 'x').map((v) => +v.toFixed(5))).toEqual([1, -2, 6]);
    const both = await integratedGradients(ex, inputs, { target: 0 });
    expect(attr(both, 'b').map((v) => +v.toFixed(5))).toEqual([0.25, 1]);
    expect(Math.abs(both.delta[0])).toBeLessThan(1e-5);
    await ex.release();
  });

  test('several baselines are averaged; a constant and a tensor baseline', async () => {
    const ex = new Explainer(runtime, twoInputs());
    const opts = { target: 1, attribute: ['x'] };
    const b1 = await integratedGradients(ex, inputs, { ...opts, baselines: 1 });
    const b2 = await integratedGradients(ex, inputs, { ...opts, baselines: { x: f32([1, 3], [0, 0, 1]) } });
    const avg = await integratedGradients(ex, inputs, { ...opts, baselines: [1, { x: f32([1, 3], [0, 0, 1]) }] });
    expect(attr(avg, 'x').map((v) => +v.toFixed(5))).toEqual(attr(b1, 'x').map((v, i) => +((v + attr(b2, 'x')[i]) / 2).toFixed(5)));
    expect(attr(b1, 'x').map((v) => +v.toFixed(5))).toEqual([0, -1, 4]); // (x - 1) * a
    expect(Math.abs(avg.delta[0])).toBeLessThan(1e-5);
    await ex.release();
  });

  test('without a target the top class of each example is explained; bad targets are named', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const r = await integratedGradients(ex, { image: stack([npy('digit_7.npy'), npy('digit_0.npy')]) }, { steps: 8 });
    expect(r.classes).toEqual([7, 0]);
    await expect(integratedGradients(ex, { image: npy('digit_7.npy') }, { target: 10 })).rejects.toThrow("target 10 is out of range: output 'logits' of shape [N, 10] has 10 classes (0 to 9)");
    await expect(integratedGradients(ex, { pixels: npy('digit_7.npy') } as never)).rejects.toThrow("no value given for input 'image'");
    await expect(integratedGradients(ex, { image: npy('patient_0.npy') })).rejects.toThrow("input 'image' expects shape [batch, 1, 8, 8], got [1, 30]");
    await ex.release();
  });
});

describe('the other gradient methods', () => {
  const x = () => ({ image: npy('digit_3.npy') });

  test('saliency is |gradient|, input x gradient is x * gradient', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const raw = await saliency(ex, x(), { target: 3, abs: false });
    const abs = await saliency(ex, x(), { target: 3 });
    const ixg = await inputXGradient(ex, x(), { target: 3 });
    const xs = Array.from(x().image.data as Float32Array);
    expect(attr(abs, 'image')).toEqual(attr(raw, 'image').map(Math.abs));
    expect(attr(ixg, 'image')).toEqual(attr(raw, 'image').map((g, i) => Math.fround(g * xs[i])));
    await ex.release();
  });

  test('noise tunnel: zero noise reproduces the base method; vargrad of zero noise is 0', async () => {
    const ex = new Explainer(runtime, load('tabular_mlp.onnx'));
    const inp = { features: npy('patient_1.npy') };
    const sal = await saliency(ex, inp, { target: 1 });
    const sg0 = await noiseTunnel(ex, inp, { target: 1, stdev: 0, samples: 3 });
    expect(relL2(attr(sg0, 'features'), attr(sal, 'features'))).toBeLessThan(1e-6);
    const vg0 = await noiseTunnel(ex, inp, { target: 1, stdev: 0, samples: 3, type: 'vargrad' });
    expect(Math.max(...attr(vg0, 'features').map(Math.abs))).toBeLessThan(1e-9);
    const sg = await noiseTunnel(ex, inp, { target: 1, stdev: 5, samples: 8, type: 'smoothgrad_sq', seed: 3 });
    expect(attr(sg, 'features').every((v) => v >= 0)).toBe(true);
    expect(relL2(attr(sg, 'features'), attr(sal, 'features'))).toBeGreaterThan(1e-3);
    await ex.release();
  });

  test('gradient SHAP with one baseline and many samples approaches IG from that baseline', async () => {
    const ex = new Explainer(runtime, load('text_classifier.onnx'));
    const at = '/embedding/Gather_output_0';
    const inp = { token_ids: npy('review_positive.npy') };
    const ig = await integratedGradients(ex, inp, { target: 1, at });
    const gs = await gradientShap(ex, inp, { target: 1, at, samples: 400, seed: 7 });
    expect(relL2(attr(gs, at), attr(ig, at))).toBeLessThan(0.1);
    expect(Math.abs(gs.delta[0])).toBeLessThan(0.1 * Math.abs(ig.outputs[0] - ig.baselineOutputs[0]));
    await ex.release();
  });

  // the values (map, upsampled map, channel weights) are checked against Captum in captum.test.ts
  test('Grad-CAM: shapes, a non-negative map, and upsampling to the input or a given size', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const layer = '/features/features.3/Relu_output_0';
    const cam = await gradCam(ex, x(), { target: 3, layer });
    expect(cam.cam.dims).toEqual([1, 8, 8]);
    expect(cam.heatmap.dims).toEqual([1, 8, 8]);
    expect(cam.weights.dims).toEqual([1, 16]);
    expect(Array.from(cam.cam.data as Float32Array).every((v) => v >= 0)).toBe(true);
    // an 8x8 map "upsampled" to 8x8 is unchanged
    expect(relL2(cam.heatmap.data as Float32Array, cam.cam.data as Float32Array)).toBeLessThan(1e-6);
    const small = await gradCam(ex, x(), { target: 3, layer: '/features/features.4/MaxPool_output_0', size: [8, 8] });
    expect(small.cam.dims).toEqual([1, 4, 4]);
    expect(small.heatmap.dims).toEqual([1, 8, 8]);
    await ex.release();
  });
});

describe('progress and cancellation', () => {
  test('progress reaches the total; an aborted signal stops the run', async () => {
    const ex = new Explainer(runtime, load('digits_cnn.onnx'));
    const events: { phase: string; done: number; total: number }[] = [];
    await integratedGradients(ex, { image: npy('digit_3.npy') }, { steps: 30, internalBatchSize: 7, onProgress: (e) => events.push(e) });
    const integ = events.filter((e) => e.phase === 'integrating');
    // 30 interpolation points plus F(baseline) and F(x), which ride in the same runs
    expect(integ.map((e) => e.done)).toEqual([7, 14, 21, 28, 32]);
    expect(integ.every((e) => e.total === 32)).toBe(true);
    const controller = new AbortController();
    const run = integratedGradients(ex, { image: npy('digit_3.npy') }, {
      steps: 50,
      internalBatchSize: 5,
      signal: controller.signal,
      onProgress: (e) => e.phase === 'integrating' && e.done >= 10 && controller.abort(),
    });
    await expect(run).rejects.toThrow(/aborted|cancelled/i);
    await ex.release();
  });
});
