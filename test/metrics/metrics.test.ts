/**
 * The quality metrics in closed form: a linear model F(x) = w.x + c, where
 * IG's attributions are w (x - x') exactly, gives infidelity 0, a
 * sensitivity-max computable by hand and deletion/insertion curves with
 * known values and areas; randomising a model's weights changes its IG maps
 * and randomising none leaves them equal; the agreement measures on small
 * cases worked out by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DataType,
  GraphBuilder,
  makeModel,
  decodeModel,
  Explainer,
  explainWith,
  infidelity,
  sensitivityMax,
  deletionCurve,
  spearman,
  topKOverlap,
  relativeL2,
  ssim,
  ranks,
  randomizeWeights,
  learnedLayers,
  sanityCheck,
  igConvergence,
  completenessOf,
  imputeLinear,
  blurImage,
  gaussianKernel,
  roadCurve,
  type Tensor,
} from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';

const w = [0.5, -1.25, 2, 0.75, 1.5];
const c = 0.3;
function linear() {
  const b = new GraphBuilder('linear');
  const x = b.input('x', DataType.FLOAT, ['N', 5]);
  const y = b.op('Add', [b.op('MatMul', [x, b.constant(Float32Array.from(w), [5, 1], { name: 'w' })]), b.constant(Float32Array.from([c]), [1], { name: 'c' })], {}, { output: 'y' });
  b.output(y, DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(b.build(), { opset: 13 }));
}
const X: Tensor = { type: 'float32', dims: [2, 5], data: Float32Array.from([1, 2, -0.5, 3, 0.25, -1, 0.5, 1.5, -2, 4]) };
const dot = (v: ArrayLike<number>, off = 0) => w.reduce((s, wi, i) => s + wi * v[off + i], 0);

describe('a linear model F(x) = w.x + c', () => {
  const ex = linear();
  afterAll(() => ex.release());

  test("IG's infidelity is 0 under any perturbation (Gaussian noise, two scales, plain and normalized)", async () => {
    const ig = await explainWith(ex, { x: X }, { method: 'ig', target: 0, steps: 4 });
    for (const noiseStd of [0.003, 0.5]) {
      for (const normalize of [false, true]) {
        const r = await infidelity(ex, { x: X }, ig.attributions, { target: 0, samples: 16, noiseStd, normalize, seed: 7 });
        // each term is (w.I - w.I)^2: zero up to float32 rounding of the model
        r.infidelity.forEach((v) => expect(v).toBeLessThan(1e-10 * Math.max(1, noiseStd ** 2 * 100)));
      }
    }
    // the saliency map (w, not w (x - x')) is not what multiplyByInputs expects: its infidelity is not 0
    const sal = await explainWith(ex, { x: X }, { method: 'input-x-gradient', target: 0 });
    const grad = { x: { ...sal.attributions.x, data: Float32Array.from({ length: 10 }, (_, i) => w[i % 5]) } };
    const bad = await infidelity(ex, { x: X }, grad, { target: 0, samples: 16, noiseStd: 0.5, seed: 7 });
    expect(Math.min(...bad.infidelity)).toBeGreaterThan(1e-3);
    const ok = await infidelity(ex, { x: X }, grad, { target: 0, samples: 16, noiseStd: 0.5, seed: 7, multiplyByInputs: false });
    ok.infidelity.forEach((v) => expect(v).toBeLessThan(1e-9));
  });

  test('sensitivity-max of IG from the zero baseline: max over the noise of |w * U| / |w * x|, by hand', async () => {
    const n = 5;
    const U = Float32Array.from({ length: 2 * n * 5 }, (_, i) => 0.05 * Math.sin(i * 1.7 + 0.3));
    const r = await sensitivityMax(ex, { x: X }, { method: 'ig', steps: 4, target: 0, perturbSamples: n, perturbations: { x: { type: 'float32', dims: [2 * n, 5], data: U } } });
    for (let e = 0; e < 2; e++) {
      const scale = Math.hypot(...w.map((wi, i) => wi * X.data[e * 5 + i]));
      const want = Math.max(...Array.from({ length: n }, (_, s) => Math.hypot(...w.map((wi, i) => wi * U[(e * n + s) * 5 + i])) / scale));
      expect(r.sensitivity[e]).toBeCloseTo(want, 5);
    }
  });

  test('deletion (most relevant first) is F(x) less the largest attributions removed so far; insertion the baseline plus them; areas by the trapezoid', async () => {
    // x > 0 and w > 0 where it matters: every attribution w_i x_i of example 0 below is positive but one
    const ig = await explainWith(ex, { x: X }, { method: 'ig', target: 0, steps: 4 });
    const a = Array.from(ig.attributions.x.data as Float32Array).slice(0, 5);
    const sorted = [...a].sort((p, q) => q - p);
    const del = await deletionCurve(ex, { x: X }, ig.attributions, { target: 0 });
    const ins = await deletionCurve(ex, { x: X }, ig.attributions, { target: 0, mode: 'insertion' });
    const lerf = await deletionCurve(ex, { x: X }, ig.attributions, { target: 0, order: 'least' });
    expect(del.fractions).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const fx = dot(X.data) + c;
    const wantDel = sorted.map((_, k) => fx - sorted.slice(0, k).reduce((s, v) => s + v, 0)).concat([c]);
    const wantIns = sorted.map((_, k) => c + sorted.slice(0, k).reduce((s, v) => s + v, 0)).concat([fx]);
    del.values[0].forEach((v, k) => expect(v).toBeCloseTo(wantDel[k], 5));
    ins.values[0].forEach((v, k) => expect(v).toBeCloseTo(wantIns[k], 5));
    // most relevant first falls fastest: below least relevant first everywhere
    del.values[0].forEach((v, k) => expect(v).toBeLessThanOrEqual(lerf.values[0][k] + 1e-6));
    const trapezoid = (ys: number[]) => ys.reduce((s, y, k) => (k ? s + 0.2 * (y + ys[k - 1]) / 2 : 0), 0);
    expect(del.auc[0]).toBeCloseTo(trapezoid(wantDel), 5);
    expect(ins.auc[0]).toBeCloseTo(trapezoid(wantIns), 5);
    expect(del.evaluations).toBe(2 * 6);
    // monotone: while the removed attributions are positive, the output only falls
    const positives = sorted.filter((v) => v > 0).length;
    for (let k = 1; k <= positives; k++) expect(del.values[0][k]).toBeLessThan(del.values[0][k - 1]);
  });

  test('bad metric input is refused before any run', async () => {
    const ig = await explainWith(ex, { x: X }, { method: 'ig', target: 0, steps: 4 });
    await expect(infidelity(ex, { x: X }, {}, { target: 0 })).rejects.toThrow(/no attributions for 'x'/);
    await expect(infidelity(ex, { x: X }, { x: { ...ig.attributions.x, dims: [1, 10] } }, { target: 0 })).rejects.toThrow(/have shape \[1, 10\], the input \[2, 5\]/);
    await expect(infidelity(ex, { x: X }, ig.attributions, { target: 0, samples: 0 })).rejects.toThrow(/samples must be a positive whole number/);
    await expect(infidelity(ex, { x: X }, ig.attributions, { target: 0, samples: 2, perturbations: { x: X } })).rejects.toThrow(/expected \[4, 5\]/);
    await expect(deletionCurve(ex, { x: X }, ig.attributions, { target: 0, steps: 9 })).rejects.toThrow(/steps must be a whole number from 1 to 5/);
    await expect(sensitivityMax(ex, { x: X }, { target: 0, radius: -1 })).rejects.toThrow(/radius must be a positive number/);
  });
});

describe('sanity checks on the digits CNN (Adebayo et al. 2018)', () => {
  const model = decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx')));
  const ex = new Explainer(runtime, model);
  afterAll(() => ex.release());
  const x: Tensor = (() => {
    const a = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.json'), 'utf8'));
    return { type: 'float32', dims: a.shape, data: Float32Array.from(a.data.flat(4)) };
  })();

  test('randomising no layer leaves the model and its IG map as they were; the original is never touched', async () => {
    const before = JSON.stringify(model.graph!.initializer!.map((t) => t.rawData?.length));
    const same = new Explainer(runtime, randomizeWeights(model, []));
    const a = await explainWith(ex, { image: x }, { method: 'ig', steps: 16 });
    const b = await explainWith(same, { image: x }, { method: 'ig', steps: 16, target: a.classes });
    await same.release();
    expect(relativeL2(b.attributions.image.data as Float32Array, a.attributions.image.data as Float32Array)).toBe(0);
    expect(JSON.stringify(model.graph!.initializer!.map((t) => t.rawData?.length))).toBe(before);
  });

  test('cascading randomisation from the output down: saliency maps stop ranking alike; IG maps change sign and structure but keep the input in their magnitudes', async () => {
    const layers = learnedLayers(model);
    expect(layers.map((l) => l.op)).toEqual(['Gemm', 'Conv', 'Conv']);
    const sal = await sanityCheck(ex, { image: x }, { method: 'saliency', mode: 'cascading' });
    expect(sal.rows.map((row) => row.randomized.length)).toEqual([1, 2, 3]);
    const s = sal.rows[2];
    expect(Math.abs(s.spearman)).toBeLessThan(0.3);
    expect(s.ssim!).toBeLessThan(0.3);
    expect(sal.passed).toBe(true);
    const ig = await sanityCheck(ex, { image: x }, { method: 'ig', steps: 16, mode: 'cascading' });
    const last = ig.rows[2];
    expect(Math.abs(last.spearman)).toBeLessThan(0.5);
    expect(last.ssim!).toBeLessThan(0.5);
    expect(ig.passed).toBe(true);
    // IG is (x - 0) times an average gradient: where the digit has no ink it is 0 whatever the weights,
    // so the magnitudes still rank like the input (Adebayo et al. saw this for gradient x input and IG)
    expect(last.spearmanAbs).toBeGreaterThan(0.7);
    const independent = await sanityCheck(ex, { image: x }, { method: 'ig', steps: 16, mode: 'independent' });
    expect(independent.rows.map((row) => row.randomized)).toEqual(layers.map((l) => [l.name]));
    expect(independent.passed).toBeUndefined();
  });

  test('IG gap against steps: the table a user reads to choose steps shrinks from 4 to 256 points', async () => {
    const rows = await igConvergence(ex, { image: x }, { stepsList: [4, 16, 64, 256] });
    expect(rows.map((r) => r.steps)).toEqual([4, 16, 64, 256]);
    expect(rows[3].relative[0]).toBeLessThan(rows[0].relative[0]);
    expect(rows[3].relative[0]).toBeLessThan(0.01);
    const ks = await explainWith(ex, { image: x }, { method: 'kernel-shap', featureMask: 'grid:2x2' });
    expect(completenessOf(ks)!.relative[0]).toBeLessThan(1e-5);
    expect(completenessOf(await explainWith(ex, { image: x }, { method: 'saliency' }))).toBeUndefined();
  });
});

describe('agreement measures, worked by hand', () => {
  test('ranks average ties; Spearman is Pearson on ranks', () => {
    expect(Array.from(ranks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: covariance 4.5 / sqrt(4.5 * 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
  });

  test('top-k overlap by magnitude, relative L2, SSIM of a map with itself and its negative', () => {
    expect(topKOverlap([5, -4, 1, 0], [-5, 0, 4, 1], 2)).toBe(0.5);
    expect(topKOverlap([5, -4, 1, 0], [-5, 0, 4, 1], 4)).toBe(1);
    expect(relativeL2([1, 2, 2], [1, 2, 3])).toBeCloseTo(1 / Math.sqrt(14), 12);
    const m = Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) + (i % 8) * 0.1);
    expect(ssim(m, m, 8, 8)).toBeCloseTo(1, 12);
    // a 3x3 map (one 3x3 window) and twice it: means 4 and 8, sample variances 7.5 and 30, covariance 15, data range 16
    const a = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const c1 = (0.01 * 16) ** 2;
    const c2 = (0.03 * 16) ** 2;
    expect(ssim(a, a.map((v) => 2 * v), 3, 3)).toBeCloseTo(((2 * 4 * 8 + c1) * (2 * 15 + c2)) / ((16 + 64 + c1) * (7.5 + 30 + c2)), 12);
    expect(() => topKOverlap([1, 2], [1, 2], 3)).toThrow(/k must be a whole number from 1 to 2/);
    expect(() => spearman([1, 2], [1, 2, 3])).toThrow(/2 and 3 elements/);
  });
});

describe('ROAD: removal with noisy linear imputation', () => {
  test('a ramp image (linear in row and column) with an interior block removed is imputed exactly; a single pixel becomes the weighted mean of its 8 neighbours', () => {
    const h = 9;
    const w = 10;
    const ramp = Float32Array.from({ length: h * w }, (_, i) => 0.3 * Math.floor(i / w) - 0.7 * (i % w) + 2);
    const img = Float32Array.from(ramp);
    const removed = new Uint8Array(h * w);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 8; x++) removed[y * w + x] = 1;
    for (let i = 0; i < h * w; i++) if (removed[i]) img[i] = 99;
    imputeLinear(img, h, w, removed);
    for (let i = 0; i < h * w; i++) expect(img[i]).toBeCloseTo(ramp[i], 4);
    // one pixel among arbitrary values: (sum of direct neighbours / 6 + sum of diagonals / 12), the weights summing to 1
    const v = Float32Array.from([1, 2, 3, 4, 0, 6, 7, 8, 9]);
    const one = new Uint8Array(9);
    one[4] = 1;
    imputeLinear(v, 3, 3, one);
    expect(v[4]).toBeCloseTo((2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12, 5);
  });

  test('on the digits CNN, removing IG\'s most relevant pixels first lowers the class score faster than least relevant first', async () => {
    const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx'))));
    const j = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.json'), 'utf8'));
    const x: Tensor = { type: 'float32', dims: j.shape, data: Float32Array.from(j.data.flat(4)) };
    const ig = await explainWith(ex, { image: x }, { method: 'ig', steps: 32 });
    const morf = await roadCurve(ex, { image: x }, ig.attributions, { target: ig.classes, fractions: [0.1, 0.3, 0.5], seed: 2 });
    const lerf = await roadCurve(ex, { image: x }, ig.attributions, { target: ig.classes, fractions: [0.1, 0.3, 0.5], order: 'least', seed: 2 });
    await ex.release();
    expect(morf.evaluations).toBe(4);
    expect(morf.fractions).toEqual([0, 0.1, 0.3, 0.5]);
    expect(morf.values[0][0]).toBeCloseTo(ig.outputs[0], 4);
    expect(morf.auc[0]).toBeLessThan(lerf.auc[0]);
    expect(morf.values[0][3]).toBeLessThan(lerf.values[0][3]);
  });

  test('ROAD refuses what is not one image input', async () => {
    const ex = linear();
    await expect(roadCurve(ex, { x: X }, { x: X }, { target: 0 })).rejects.toThrow(/ROAD imputes pixels of one image input \[N, C, H, W\]; the attributed inputs are 'x' \[2, 5\]/);
    await expect(roadCurve(ex, { x: X }, { x: X }, { target: 0, fractions: [1] })).rejects.toThrow(/fractions must lie strictly between 0 and 1/);
    await ex.release();
  });
});

describe('the blurred baseline', () => {
  test('a constant image stays itself; a point becomes the outer product of the normalised Gaussian kernel', () => {
    const flat = blurImage({ type: 'float32', dims: [1, 1, 5, 6], data: new Float32Array(30).fill(0.7) }, 1.2);
    (flat.data as Float32Array).forEach((v) => expect(v).toBeCloseTo(0.7, 6));
    const k = gaussianKernel(1);
    expect(k.length).toBe(7);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k[3] / k[2]).toBeCloseTo(Math.exp(0.5), 12);
    const point = new Float32Array(15 * 15);
    point[7 * 15 + 7] = 1;
    const b = blurImage({ type: 'float32', dims: [1, 1, 15, 15], data: point }, 1).data as Float32Array;
    for (const [dy, dx] of [[0, 0], [1, 0], [2, 3], [-3, -1]]) expect(b[(7 + dy) * 15 + 7 + dx]).toBeCloseTo(k[3 + dy] * k[3 + dx], 7);
  });

  test('insertion from the blurred digit starts at F(blurred) and ends at F(x)', async () => {
    const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx'))));
    const j = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.json'), 'utf8'));
    const x: Tensor = { type: 'float32', dims: j.shape, data: Float32Array.from(j.data.flat(4)) };
    const ig = await explainWith(ex, { image: x }, { method: 'ig', steps: 16 });
    const r = await deletionCurve(ex, { image: x }, ig.attributions, { target: ig.classes, mode: 'insertion', baselines: { blur: 1 }, featureMask: 'grid:4x4' });
    const blurredOut = await explainWith(ex, { image: blurImage(x, 1) }, { method: 'saliency', target: ig.classes });
    await ex.release();
    expect(r.values[0][0]).toBeCloseTo(blurredOut.outputs[0], 4);
    expect(r.values[0][r.values[0].length - 1]).toBeCloseTo(ig.outputs[0], 4);
  });
});
