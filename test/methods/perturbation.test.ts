/**
 * The perturbation family against exact oracles:
 * - on a model linear in its features, occlusion (one-element windows),
 *   feature ablation, Shapley sampling, KernelSHAP and LIME all give
 *   w_i (x_i - x'_i), and LIME's surrogate fits with R^2 = 1;
 * - KernelSHAP over all coalitions equals the Shapley values computed here by
 *   enumerating coalitions in float64 (on a non-linear model with
 *   interactions, with a baseline and with a background set, over grouped
 *   features, and on a tree ensemble whose trees are walked here);
 * - Shapley sampling's error against them shrinks as orders are added, and
 *   its values and KernelSHAP's sum to F(x) - F(baseline) (efficiency);
 * - feature permutation takes each feature from another example of the batch.
 */
import { Explainer, GraphBuilder, DataType, makeModel, Attr, occlusion, featureAblation, featurePermutation, shapleySampling, kernelShap, lime, randomSource, type Tensor } from '@onnx-explain/core';
import { runtime, relL2 } from '../grad/fd';

const f32 = (dims: number[], data: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(data) });

/** y = x . w + 0.25 over x [N, 6]. */
const W = [0.5, -1.25, 2, 0.75, -0.5, 1.5];
function linear(): Explainer {
  const g = new GraphBuilder('linear');
  const x = g.input('x', DataType.FLOAT, ['N', 6]);
  const y = g.op('Add', [g.op('MatMul', [x, g.constant(Float32Array.from(W), [6, 1])]), g.constant(Float32Array.from([0.25]), [1])], {}, { output: 'y' });
  g.output(y, DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}

/**
 * y = x0 x1 + relu(x2 - x3) x4 + 0.5 x1 + tanh(x0 + x4): interactions of
 * two and three features, a kink and a curve; its float64 twin below.
 */
function nonlinear(): Explainer {
  const g = new GraphBuilder('nonlinear');
  const x = g.input('x', DataType.FLOAT, ['N', 5]);
  const col = (i: number) => g.op('Slice', [x, g.constant(BigInt64Array.from([BigInt(i)]), [1]), g.constant(BigInt64Array.from([BigInt(i + 1)]), [1]), g.constant(BigInt64Array.from([1n]), [1])]);
  const [x0, x1, x2, x3, x4] = [0, 1, 2, 3, 4].map(col);
  const a = g.op('Mul', [x0, x1]);
  const b = g.op('Mul', [g.op('Relu', [g.op('Sub', [x2, x3])]), x4]);
  const c = g.op('Mul', [x1, g.constant(Float32Array.from([0.5]), [])]);
  const d = g.op('Tanh', [g.op('Add', [x0, x4])]);
  g.output(g.op('Add', [g.op('Add', [a, b]), g.op('Add', [c, d])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}
const nonlinear64 = (v: number[]) => v[0] * v[1] + Math.max(0, v[2] - v[3]) * v[4] + 0.5 * v[1] + Math.tanh(v[0] + v[4]);

/** Two regression trees of depth 2 over 4 features (ai.onnx.ml TreeEnsembleRegressor), and the same trees walked in JS. */
const TREES = [
  // node: [feature, threshold, true child, false child] or a leaf value
  { nodes: [[0, 0.5, 1, 2], [1, 0.2, 3, 4], [2, -0.1, 5, 6]] as number[][], leaves: { 3: 1.0, 4: -2.0, 5: 0.5, 6: 3.0 } as Record<number, number> },
  { nodes: [[3, 0.0, 1, 2], [0, 1.0, 3, 4], [1, 0.7, 5, 6]] as number[][], leaves: { 3: -1.5, 4: 2.5, 5: 0.25, 6: -0.75 } as Record<number, number> },
];
function trees(): Explainer {
  const a = { treeids: [] as number[], nodeids: [] as number[], features: [] as number[], values: [] as number[], modes: [] as string[], t: [] as number[], f: [] as number[] };
  const targets = { treeids: [] as number[], nodeids: [] as number[], weights: [] as number[] };
  TREES.forEach((tree, t) => {
    for (let n = 0; n < 7; n++) {
      a.treeids.push(t);
      a.nodeids.push(n);
      if (n < 3) {
        const [feat, thr, tc, fc] = tree.nodes[n];
        a.features.push(feat);
        a.values.push(thr);
        a.modes.push('BRANCH_LEQ');
        a.t.push(tc);
        a.f.push(fc);
      } else {
        a.features.push(0);
        a.values.push(0);
        a.modes.push('LEAF');
        a.t.push(0);
        a.f.push(0);
        targets.treeids.push(t);
        targets.nodeids.push(n);
        targets.weights.push(tree.leaves[n]);
      }
    }
  });
  const g = new GraphBuilder('trees');
  const x = g.input('x', DataType.FLOAT, ['N', 4]);
  g.output(
    g.op(
      'TreeEnsembleRegressor',
      [x],
      {
        n_targets: 1,
        nodes_treeids: a.treeids,
        nodes_nodeids: a.nodeids,
        nodes_featureids: a.features,
        nodes_values: Attr.floats(a.values),
        nodes_modes: a.modes,
        nodes_truenodeids: a.t,
        nodes_falsenodeids: a.f,
        target_treeids: targets.treeids,
        target_nodeids: targets.nodeids,
        target_ids: targets.treeids.map(() => 0),
        target_weights: Attr.floats(targets.weights),
      },
      { domain: 'ai.onnx.ml', output: 'y' },
    ),
    DataType.FLOAT,
    ['N', 1],
  );
  return new Explainer(runtime, makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] }));
}
const trees64 = (v: number[]) =>
  TREES.reduce((sum, tree) => {
    let n = 0;
    while (n < 3) {
      const [feat, thr, tc, fc] = tree.nodes[n];
      n = Math.fround(v[feat]) <= Math.fround(thr) ? tc : fc;
    }
    return sum + tree.leaves[n];
  }, 0);

/**
 * Exact Shapley values of v(S) = mean over background rows b of
 * f(x on S, b elsewhere), by enumerating every coalition of the groups in
 * float64: phi_i = sum over S without i of |S|! (M-|S|-1)! / M! (v(S+i) - v(S)).
 */
function bruteShapley(f: (v: number[]) => number, x: number[], background: number[][], groups: number[]): number[] {
  const M = Math.max(...groups) + 1;
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const value = (mask: number) => background.reduce((s, b) => s + f(x.map((xi, i) => (mask & (1 << groups[i]) ? xi : b[i]))), 0) / background.length;
  const phi = new Array(M).fill(0);
  for (let mask = 0; mask < 1 << M; mask++) {
    const size = [...Array(M).keys()].filter((i) => mask & (1 << i)).length;
    for (let i = 0; i < M; i++) {
      if (mask & (1 << i)) continue;
      phi[i] += ((fact(size) * fact(M - size - 1)) / fact(M)) * (value(mask | (1 << i)) - value(mask));
    }
  }
  return phi;
}

describe('a model linear in its features: every method gives w_i (x_i - baseline_i)', () => {
  const ex = linear();
  afterAll(() => ex.release());
  const x = f32([2, 6], [0.3, -1.2, 0.8, 2.0, -0.4, 1.1, 1.5, 0.2, -0.7, 0.9, 0.6, -1.3]);
  const baseline = f32([1, 6], [0.1, 0.2, -0.3, 0.4, 0.5, -0.6]);
  const want = [0, 1].flatMap((e) => W.map((w, i) => w * ((x.data as Float32Array)[e * 6 + i] - (baseline.data as Float32Array)[i])));
  const opts = { target: 0, baselines: baseline };

  test.each([
    ['occlusion (one-element windows)', () => occlusion(ex, { x }, { ...opts, window: [1] })],
    ['feature ablation', () => featureAblation(ex, { x }, opts)],
    ['shapley sampling (4 orders)', () => shapleySampling(ex, { x }, { ...opts, samples: 4 })],
    ['kernel shap (all 62 coalitions)', () => kernelShap(ex, { x }, opts)],
    ['kernel shap (40 sampled coalitions)', () => kernelShap(ex, { x }, { ...opts, samples: 40 })],
    ['lime (least squares)', () => lime(ex, { x }, { ...opts, samples: 64 })],
  ])('%s', async (_, run) => {
    const r = await run();
    expect(r.gradientSource).toBe('none');
    expect(relL2(r.attributions.x.data as Float32Array, want)).toBeLessThan(1e-5);
    // F(x) itself is reported
    expect(r.outputs[1]).toBeCloseTo(W.reduce((s, w, i) => s + w * (x.data as Float32Array)[6 + i], 0.25), 5);
  });

  test("LIME's surrogate is exact here: R^2 = 1, intercept F(baseline)", async () => {
    const r = await lime(ex, { x }, { ...opts, samples: 64 });
    const fb = W.reduce((s, w, i) => s + w * (baseline.data as Float32Array)[i], 0.25);
    for (const e of [0, 1]) {
      expect(r.r2[e]).toBeGreaterThan(1 - 1e-9);
      expect(r.intercept[e]).toBeCloseTo(fb, 5);
    }
  });

  test('kernel shap says whether it enumerated every coalition', async () => {
    expect((await kernelShap(ex, { x }, opts)).exact).toEqual([true, true]);
    expect((await kernelShap(ex, { x }, { ...opts, samples: 40 })).exact).toEqual([false, false]);
  });

  test('occlusion averages the drops of the windows covering each element (window 2, stride 1, by hand)', async () => {
    const r = await occlusion(ex, { x }, { ...opts, window: [2] });
    const d = want.slice(0, 6);
    // windows [i, i+1] for i = 0..4; element i is covered by windows i-1 and i
    const drop = (i: number) => d[i] + d[i + 1];
    const expected = d.map((_, i) => {
      const covering = [i - 1, i].filter((k) => k >= 0 && k <= 4);
      return covering.reduce((s, k) => s + drop(k), 0) / covering.length;
    });
    expect(relL2(Array.from(r.attributions.x.data as Float32Array).slice(0, 6), expected)).toBeLessThan(1e-5);
    expect(r.evaluations).toBe(2 * 6);
  });

  test('feature permutation takes each feature from another example, and the batch sums to zero per feature', async () => {
    const rows = f32([4, 6], Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 2));
    const r = await featurePermutation(ex, { x: rows }, { target: 0, seed: 7 });
    const a = r.attributions.x.data as Float32Array;
    const xs = rows.data as Float32Array;
    for (let i = 0; i < 6; i++) {
      let sum = 0;
      for (let e = 0; e < 4; e++) {
        // attr = w_i (x_e,i - x_donor,i): the donor value is another example's
        const donor = xs[e * 6 + i] - a[e * 6 + i] / W[i];
        const match = [0, 1, 2, 3].filter((k) => Math.abs(xs[k * 6 + i] - donor) < 1e-5);
        expect(match.length).toBe(1);
        sum += a[e * 6 + i];
      }
      expect(Math.abs(sum)).toBeLessThan(1e-4);
      // the permutation moves at least one example
      expect([0, 1, 2, 3].some((e) => a[e * 6 + i] !== 0)).toBe(true);
    }
  });
});

describe('KernelSHAP over all coalitions gives the exact Shapley values', () => {
  const x = [[0.9, -0.6, 1.4, 0.3, 0.8], [-0.5, 1.2, -0.2, 0.7, -1.1]];
  const flat = x.flat();

  test('non-linear model, zero baseline', async () => {
    const ex = nonlinear();
    try {
      const r = await kernelShap(ex, { x: f32([2, 5], flat) }, { target: 0 });
      for (const e of [0, 1]) {
        const want = bruteShapley(nonlinear64, x[e], [[0, 0, 0, 0, 0]], [0, 1, 2, 3, 4]);
        expect(relL2(r.featureAttributions![e], want)).toBeLessThan(1e-5);
        // efficiency: the values sum to F(x) - F(baseline)
        expect(r.sum[e]).toBeCloseTo(nonlinear64(x[e]) - nonlinear64([0, 0, 0, 0, 0]), 5);
        expect(Math.abs(r.delta[e])).toBeLessThan(1e-9);
      }
      expect(r.exact).toEqual([true, true]);
    } finally {
      await ex.release();
    }
  });

  test('non-linear model, a background set of three rows and grouped features', async () => {
    const ex = nonlinear();
    try {
      const background = [[0.1, 0.2, 0.3, -0.4, 0.5], [-1, 0.5, 0, 0.2, 1], [0.7, -0.3, 0.9, 1.1, -0.2]];
      const groups = [0, 1, 1, 2, 0];
      const r = await kernelShap(ex, { x: f32([2, 5], flat) }, { target: 0, background: f32([3, 5], background.flat()), featureMask: { type: 'int32', dims: [5], data: Int32Array.from(groups) } as Tensor });
      for (const e of [0, 1]) {
        const want = bruteShapley(nonlinear64, x[e], background, groups);
        expect(relL2(r.featureAttributions![e], want)).toBeLessThan(1e-5);
        const expected = background.reduce((s, b) => s + nonlinear64(b), 0) / 3;
        expect(r.baselineOutputs[e]).toBeCloseTo(expected, 5);
        expect(r.sum[e]).toBeCloseTo(nonlinear64(x[e]) - expected, 5);
        // every element of a group carries the group's value
        const a = r.attributions.x.data as Float32Array;
        groups.forEach((gid, i) => expect(a[e * 5 + i]).toBeCloseTo(want[gid], 5));
      }
    } finally {
      await ex.release();
    }
  });

  test('tree ensemble (ai.onnx.ml), which no gradient method explains', async () => {
    const ex = trees();
    try {
      const xs = [[0.3, 0.9, -0.5, 0.4], [0.8, 0.1, 0.2, -0.3], [1.2, 0.75, -0.2, 0.1]];
      const background = [[0.6, 0.1, 0.0, -0.2], [0.2, 0.8, -0.4, 0.5]];
      const r = await kernelShap(ex, { x: f32([3, 4], xs.flat()) }, { target: 'sum', background: f32([2, 4], background.flat()) });
      xs.forEach((row, e) => {
        const want = bruteShapley(trees64, row, background, [0, 1, 2, 3]);
        expect(relL2(r.featureAttributions![e], want)).toBeLessThan(1e-6);
        expect(r.outputs[e]).toBeCloseTo(trees64(row), 6);
      });
      // and the other methods run on it too (no gradient asked for)
      const ab = await featureAblation(ex, { x: f32([3, 4], xs.flat()) }, { target: 'sum' });
      xs.forEach((row, e) => row.forEach((_, i) => expect((ab.attributions.x.data as Float32Array)[e * 4 + i]).toBeCloseTo(trees64(row) - trees64(row.map((v, k) => (k === i ? 0 : v))), 6)));
    } finally {
      await ex.release();
    }
  });
});

/** y = x . v + x0 x1 + relu(x2 - x3) x4 + tanh(x5 + x6) x7 + x8 x9 over x [N, 10]; and its float64 twin. */
const V = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, -0.15, 0.35, 0.05, -0.3];
function wide(): Explainer {
  const g = new GraphBuilder('wide');
  const x = g.input('x', DataType.FLOAT, ['N', 10]);
  const col = (i: number) => g.op('Slice', [x, g.constant(BigInt64Array.from([BigInt(i)]), [1]), g.constant(BigInt64Array.from([BigInt(i + 1)]), [1]), g.constant(BigInt64Array.from([1n]), [1])]);
  const c = [...Array(10).keys()].map(col);
  const terms = [
    g.op('MatMul', [x, g.constant(Float32Array.from(V), [10, 1])]),
    g.op('Mul', [c[0], c[1]]),
    g.op('Mul', [g.op('Relu', [g.op('Sub', [c[2], c[3]])]), c[4]]),
    g.op('Mul', [g.op('Tanh', [g.op('Add', [c[5], c[6]])]), c[7]]),
    g.op('Mul', [c[8], c[9]]),
  ];
  g.output(terms.reduce((a, b, i) => g.op('Add', [a, b], {}, i === terms.length - 1 ? { output: 'y' } : {})), DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}
const wide64 = (v: number[]) => v.reduce((s, xi, i) => s + V[i] * xi, 0) + v[0] * v[1] + Math.max(0, v[2] - v[3]) * v[4] + Math.tanh(v[5] + v[6]) * v[7] + v[8] * v[9];

describe('KernelSHAP with sampled coalitions', () => {
  test('approaches the exact Shapley values as coalitions are added, and stays efficient', async () => {
    const ex = wide();
    try {
      const row = [0.9, -0.6, 1.4, 0.3, 0.8, -0.5, 1.1, 0.7, -1.2, 0.6];
      const want = bruteShapley(wide64, row, [new Array(10).fill(0)], [...Array(10).keys()]);
      const errors: number[] = [];
      for (const samples of [40, 160, 640]) {
        let err = 0;
        for (const seed of [1, 2, 3]) {
          const r = await kernelShap(ex, { x: f32([1, 10], row) }, { target: 0, samples, seed });
          expect(r.exact).toEqual([false]);
          err += relL2(r.featureAttributions![0], want) / 3;
          expect(r.sum[0]).toBeCloseTo(wide64(row) - wide64(new Array(10).fill(0)), 5);
        }
        errors.push(err);
      }
      expect(errors[2]).toBeLessThan(errors[0] / 2);
      // measured 0.0077 over these seeds (deterministic); sizes drawn uniformly instead of by the kernel give 0.0144
      expect(errors[2]).toBeLessThan(0.011);
      // and with every coalition (1022), exact
      const all = await kernelShap(ex, { x: f32([1, 10], row) }, { target: 0 });
      expect(all.exact).toEqual([true]);
      expect(relL2(all.featureAttributions![0], want)).toBeLessThan(1e-5);
    } finally {
      await ex.release();
    }
  });
});

describe('LIME on a non-linear model', () => {
  test("equals the weighted least-squares fit computed here from the documented draws (float64, by QR of the weighted design)", async () => {
    const ex = nonlinear();
    try {
      const row = [0.9, -0.6, 1.4, 0.3, 0.8];
      const baseline = [0.1, 0.2, -0.3, 0.4, 0.5];
      const n = 200;
      const width = 0.4;
      const r = await lime(ex, { x: f32([1, 5], row) }, { target: 0, samples: n, seed: 11, kernelWidth: width, baselines: f32([1, 5], baseline) });
      // the draws: the example itself first, then each feature kept when uniform() < 1/2, in order
      const { uniform } = randomSource(11);
      const Z = Array.from({ length: n }, (_, s) => (s === 0 ? [1, 1, 1, 1, 1] : [0, 1, 2, 3, 4].map(() => (uniform() < 0.5 ? 1 : 0))));
      const y = Z.map((z) => nonlinear64(row.map((v, i) => (z[i] ? Math.fround(v) : Math.fround(baseline[i])))));
      const w = Z.map((z) => {
        const on = z.reduce((a, b) => a + b, 0);
        const d = on ? 1 - on / Math.sqrt(5 * on) : 1;
        return Math.exp(-(d * d) / (2 * width * width));
      });
      // least squares of sqrt(w) [1, z] b = sqrt(w) y by modified Gram-Schmidt
      const A = Z.map((z, k) => [1, ...z].map((v) => v * Math.sqrt(w[k])));
      const b = y.map((v, k) => v * Math.sqrt(w[k]));
      const cols = 6;
      const Q = A.map((a) => [...a]);
      const R = Array.from({ length: cols }, () => new Array(cols).fill(0));
      for (let j = 0; j < cols; j++) {
        for (let i = 0; i < j; i++) {
          R[i][j] = Q.reduce((s, q) => s + q[i] * q[j], 0);
          for (const q of Q) q[j] -= R[i][j] * q[i];
        }
        R[j][j] = Math.sqrt(Q.reduce((s, q) => s + q[j] * q[j], 0));
        for (const q of Q) q[j] /= R[j][j];
      }
      const qtb = [...Array(cols).keys()].map((j) => Q.reduce((s, q, k) => s + q[j] * b[k], 0));
      const coef = new Array(cols).fill(0);
      for (let j = cols - 1; j >= 0; j--) coef[j] = (qtb[j] - R[j].slice(j + 1).reduce((s, v, k) => s + v * coef[j + 1 + k], 0)) / R[j][j];
      expect(relL2(r.featureAttributions![0], coef.slice(1))).toBeLessThan(1e-5);
      expect(r.intercept[0]).toBeCloseTo(coef[0], 5);
      // its R^2 by the definition, weighted around the weighted mean
      const fit = Z.map((z) => coef[0] + z.reduce((s, v, i) => s + v * coef[i + 1], 0));
      const mean = y.reduce((s, v, k) => s + w[k] * v, 0) / w.reduce((a, c) => a + c, 0);
      const r2 = 1 - y.reduce((s, v, k) => s + w[k] * (v - fit[k]) ** 2, 0) / y.reduce((s, v, k) => s + w[k] * (v - mean) ** 2, 0);
      expect(r.r2[0]).toBeCloseTo(r2, 6);
      expect(r.r2[0]).toBeLessThan(0.999);
    } finally {
      await ex.release();
    }
  });
});

describe('Shapley value sampling', () => {
  test('converges to the exact values as orders are added, and is efficient for any number of them', async () => {
    const ex = nonlinear();
    try {
      const row = [0.9, -0.6, 1.4, 0.3, 0.8];
      const want = bruteShapley(nonlinear64, row, [[0, 0, 0, 0, 0]], [0, 1, 2, 3, 4]);
      const errors: number[] = [];
      for (const samples of [2, 8, 32, 128]) {
        // the mean error over several seeds, so one lucky draw does not decide
        let err = 0;
        for (const seed of [1, 2, 3, 4]) {
          const r = await shapleySampling(ex, { x: f32([1, 5], row) }, { target: 0, samples, seed });
          err += relL2(r.featureAttributions![0], want) / 4;
          expect(r.sum[0]).toBeCloseTo(nonlinear64(row) - nonlinear64([0, 0, 0, 0, 0]), 5);
          expect(r.evaluations).toBe(2 + samples * 4);
        }
        errors.push(err);
      }
      // Monte Carlo error goes as 1/sqrt(samples): 64x the orders, about 8x less error
      expect(errors[3]).toBeLessThan(errors[0] / 3);
      expect(errors[3]).toBeLessThan(0.05);
      for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1] * 1.2);
    } finally {
      await ex.release();
    }
  });

  test('the same seed gives the same values; another seed other values', async () => {
    const ex = nonlinear();
    try {
      const x = { x: f32([1, 5], [0.9, -0.6, 1.4, 0.3, 0.8]) };
      const a = await shapleySampling(ex, x, { target: 0, samples: 2, seed: 5 });
      const b = await shapleySampling(ex, x, { target: 0, samples: 2, seed: 5 });
      const c = await shapleySampling(ex, x, { target: 0, samples: 2, seed: 6 });
      expect(Array.from(a.attributions.x.data)).toEqual(Array.from(b.attributions.x.data));
      expect(Array.from(a.attributions.x.data)).not.toEqual(Array.from(c.attributions.x.data));
    } finally {
      await ex.release();
    }
  });
});
