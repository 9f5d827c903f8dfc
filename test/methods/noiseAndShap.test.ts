/**
 * NoiseTunnel, GradientSHAP and Grad-CAM's upsampling against closed forms.
 * On F(x) = sum_k c_k x_k^2 the gradient is 2 c x, so with the noise stream
 * (checked on its own in random.test.ts) the expected SmoothGrad, its square,
 * VarGrad and GradientSHAP follow by arithmetic; both report F(x) at the input
 * itself. Bilinear upsampling with half-pixel centres is exact on a linear
 * ramp: out(y, x) = ramp(clamp(src_y), clamp(src_x)), src = (o + 0.5) / s - 0.5.
 */
import { Explainer, noiseTunnel, gradientShap, upsampleBilinear, randomSource, GraphBuilder, DataType, makeModel } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { C, X, F, quadratic, f32, flat, expectClose } from '../helpers/quadratic';

const ex = quadratic();
afterAll(() => ex.release());
const x = { x: f32([2, 3], X.flat()) };

describe('noise tunnel over saliency and input x gradient', () => {
  /** Per sample s, example n, feature k: the noisy input, in the order the noise is drawn (sample, then element). */
  function noisyInputs(samples: number, stdev: number, seed: number): number[][][] {
    const r = randomSource(seed);
    return Array.from({ length: samples }, () => X.map((row) => row.map((v) => Math.fround(v + stdev * r.normal()))));
  }
  const stat = (per: number[][][], type: string) =>
    X.flatMap((row, n) =>
      row.map((_, k) => {
        const a = per.map((s) => s[n][k]);
        const mean = a.reduce((p, q) => p + q, 0) / a.length;
        const sq = a.reduce((p, q) => p + q * q, 0) / a.length;
        return type === 'smoothgrad' ? mean : type === 'smoothgrad_sq' ? sq : sq - mean * mean;
      }),
    );

  test.each(['smoothgrad', 'smoothgrad_sq', 'vargrad'] as const)('%s of signed saliency, and of |saliency| by default', async (type) => {
    const noisy = noisyInputs(5, 0.3, 11);
    const grads = noisy.map((s) => s.map((row) => row.map((v, k) => 2 * C[k] * v)));
    const signed = await noiseTunnel(ex, x, { target: 0, samples: 5, stdev: 0.3, seed: 11, type, abs: false });
    expectClose(flat(signed.attributions.x), stat(grads, type), 3);
    const abs = await noiseTunnel(ex, x, { target: 0, samples: 5, stdev: 0.3, seed: 11, type });
    expectClose(flat(abs.attributions.x), stat(grads.map((s) => s.map((row) => row.map(Math.abs))), type), 3);
    expect(signed.method).toBe(`noise-tunnel(saliency, ${type})`);
    // F(x) at the input itself, not at a noisy copy
    expectClose(signed.outputs, X.map(F), 4);
  });

  test('over input x gradient: the noisy input times its gradient', async () => {
    const noisy = noisyInputs(4, 0.5, 2);
    const ixg = noisy.map((s) => s.map((row) => row.map((v, k) => 2 * C[k] * v * v)));
    const r = await noiseTunnel(ex, x, { target: 0, samples: 4, stdev: 0.5, seed: 2, base: 'input-x-gradient' });
    expectClose(flat(r.attributions.x), stat(ixg, 'smoothgrad'), 3);
    expect(r.method).toBe('noise-tunnel(input-x-gradient, smoothgrad)');
    expectClose(r.outputs, X.map(F), 4);
  });

  test('progress: one event per sample (F(x) after them is not reported)', async () => {
    const events: string[] = [];
    await noiseTunnel(ex, x, { target: 0, samples: 3, onProgress: (e) => events.push(`${e.phase} ${e.done}/${e.total}`) });
    expect(events).toEqual(['noise tunnel 1/3', 'noise tunnel 2/3', 'noise tunnel 3/3']);
  });

  test('over layer IG: refused', async () => {
    const g = new GraphBuilder('layer');
    const xi = g.input('x', DataType.FLOAT, ['N', 3]);
    const h = g.op('Relu', [xi], {}, { output: 'h' });
    g.output(g.op('ReduceSum', [h], { axes: [1], keepdims: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 1]);
    const lex = new Explainer(runtime, makeModel(g.build(), { opset: 11 }));
    await expect(noiseTunnel(lex, x, { target: 0, at: 'h', base: 'integrated-gradients' })).rejects.toThrow(
      'a noise tunnel over layer integrated gradients is not supported; use it on input attributions',
    );
    await lex.release();
  });
});

describe('GradientSHAP', () => {
  /** The draws as the method makes them: per (example, sample), a baseline row then an alpha. */
  function draws(samples: number, rows: number, seed: number) {
    const r = randomSource(seed);
    return Array.from({ length: 2 * samples }, () => ({ b: Math.floor(r.uniform() * rows), a: r.uniform() }));
  }
  test('from a distribution of baseline rows: mean of grad at b + a (x - b) times (x - b); delta against the mean F(b)', async () => {
    const B = [[0, 0, 0], [1, -1, 0.5], [2, 0, -1]];
    const samples = 6;
    const d = draws(samples, 3, 5);
    const want = X.flatMap((row, n) =>
      row.map((v, k) => {
        let s = 0;
        for (let j = 0; j < samples; j++) {
          const { b, a } = d[n * samples + j];
          const bk = B[b][k];
          s += 2 * C[k] * (bk + a * (v - bk)) * (v - bk);
        }
        return s / samples;
      }),
    );
    const r = await gradientShap(ex, x, { target: 0, samples, seed: 5, baselines: f32([3, 3], B.flat()) });
    expectClose(flat(r.attributions.x), want, 3);
    expect(r.method).toBe('gradient-shap');
    expectClose(r.outputs, X.map(F), 4);
    const meanFb = [0, 1].map((n) => d.slice(n * samples, (n + 1) * samples).reduce((s, { b }) => s + F(B[b]), 0) / samples);
    r.delta.forEach((dl, n) => expect(dl).toBeCloseTo(r.sum[n] - (F(X[n]) - meanFb[n]), 4));
  });

  test('zeros by default; a per-name record of baselines; one baseline row is the whole distribution', async () => {
    const samples = 4;
    const d = draws(samples, 1, 8);
    const from = (b: number[]) =>
      X.flatMap((row, n) => row.map((v, k) => d.slice(n * samples, (n + 1) * samples).reduce((s, { a }) => s + 2 * C[k] * (b[k] + a * (v - b[k])) * (v - b[k]), 0) / samples));
    const zeros = await gradientShap(ex, x, { target: 0, samples, seed: 8 });
    expectClose(flat(zeros.attributions.x), from([0, 0, 0]), 3);
    const record = await gradientShap(ex, x, { target: 0, samples, seed: 8, baselines: { x: f32([1, 3], [1, -1, 0.5]) } });
    expectClose(flat(record.attributions.x), from([1, -1, 0.5]), 3);
    const number = await gradientShap(ex, x, { target: 0, samples, seed: 8, baselines: 0.5 });
    expectClose(flat(number.attributions.x), from([0.5, 0.5, 0.5]), 3);
  });

  test('baseline rows of the wrong width are refused', async () => {
    await expect(gradientShap(ex, x, { target: 0, baselines: f32([2, 2], [0, 0, 0, 0]) })).rejects.toThrow("baselines for 'x' have rows of 2 values, the input has 3");
  });

  test('progress is reported for the gradient runs only', async () => {
    const phases = new Set<string>();
    await gradientShap(ex, x, { target: 0, samples: 3, onProgress: (e) => phases.add(e.phase) });
    expect([...phases]).toEqual(['gradient shap']);
  });

  describe('two inputs: y = s * sum_k a_k^2 W[k, c], a [N, 2], s [N, 1]', () => {
    const W = [[1, 2], [3, -1]];
    const g = new GraphBuilder('scaled');
    const a = g.input('a', DataType.FLOAT, ['N', 2]);
    const sIn = g.input('s', DataType.FLOAT, ['N', 1]);
    const sq = g.op('MatMul', [g.op('Mul', [a, a]), g.constant(Float32Array.from(W.flat()), [2, 2])]);
    g.output(g.op('Mul', [sq, sIn], {}, { output: 'y' }), DataType.FLOAT, ['N', 2]);
    const two = new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
    afterAll(() => two.release());
    const A = [[1, -2], [0.5, 1.5]];
    const S = [2, -3];
    const y0 = (av: number[], sv: number) => sv * av.reduce((t, v, k) => t + v * v * W[k][0], 0);
    const B = [[0, 1], [-1, 0.5]];
    const inputs = { a: f32([2, 2], A.flat()), s: f32([2, 1], S) };

    test('noise tunnel over IG, s held fixed, target omitted: every noisy sample explains the clean input\'s top class', async () => {
      // one example, top class 0 (y = [26, -4]); noise of stdev 3 on a turns some samples' top class to 1
      const one = { a: f32([1, 2], A[0]), s: f32([1, 1], [S[0]]) };
      const samples = 6;
      const rnd = randomSource(3);
      const noisy = Array.from({ length: samples }, () => A[0].map((v) => Math.fround(v + 3 * rnd.normal())));
      const y1 = (av: number[]) => S[0] * av.reduce((t, v, k) => t + v * v * W[k][1], 0);
      expect(noisy.some((av) => y1(av) > y0(av, S[0]))).toBe(true);
      const r = await noiseTunnel(two, one, { samples, stdev: 3, seed: 3, base: 'integrated-gradients', attribute: ['a'], steps: 4 });
      expect(r.classes).toEqual([0]);
      // IG of class 0 from a zero baseline: s a_k^2 W[k, 0] (the path's gradient is linear in alpha)
      const want = [0, 1].map((k) => noisy.reduce((t, av) => t + S[0] * av[k] * av[k] * W[k][0], 0) / samples);
      expectClose(flat(r.attributions.a), want, 2);
    });

    test('s held fixed: each example keeps its own s, in the points and in F at the baselines', async () => {
      const samples = 3;
      const d = draws(samples, 2, 4);
      const r = await gradientShap(two, inputs, { target: 0, samples, seed: 4, attribute: ['a'], baselines: { a: f32([2, 2], B.flat()) } });
      const want = A.flatMap((row, n) =>
        row.map((v, k) => {
          let t = 0;
          for (let j = 0; j < samples; j++) {
            const { b, a: al } = d[n * samples + j];
            const bk = B[b][k];
            t += 2 * S[n] * W[k][0] * (bk + al * (v - bk)) * (v - bk);
          }
          return t / samples;
        }),
      );
      expectClose(flat(r.attributions.a), want, 4);
      expect(Object.keys(r.attributions)).toEqual(['a']);
      const meanFb = [0, 1].map((n) => d.slice(n * samples, (n + 1) * samples).reduce((t, { b }) => t + y0(B[b], S[n]), 0) / samples);
      r.delta.forEach((dl, n) => expect(dl).toBeCloseTo(r.sum[n] - (y0(A[n], S[n]) - meanFb[n]), 4));
    });

    test('both attributed, baselines of 2 and 1 rows: rows are drawn from the larger, the 1-row baseline is every draw', async () => {
      const samples = 4;
      const d = draws(samples, 2, 6);
      const sb = 0.5;
      const r = await gradientShap(two, inputs, { target: 0, samples, seed: 6, baselines: { a: f32([2, 2], B.flat()), s: f32([1, 1], [sb]) } });
      const wantA: number[] = [];
      const wantS: number[] = [];
      A.forEach((row, n) => {
        const ta = [0, 0];
        let ts = 0;
        for (let j = 0; j < samples; j++) {
          const { b, a: al } = d[n * samples + j];
          const pa = row.map((v, k) => B[b][k] + al * (v - B[b][k]));
          const ps = sb + al * (S[n] - sb);
          row.forEach((v, k) => (ta[k] += 2 * ps * W[k][0] * pa[k] * (v - B[b][k])));
          ts += pa.reduce((t, v, k) => t + v * v * W[k][0], 0) * (S[n] - sb);
        }
        wantA.push(...ta.map((t) => t / samples));
        wantS.push(ts / samples);
      });
      expectClose(flat(r.attributions.a), wantA, 4);
      expectClose(flat(r.attributions.s), wantS, 4);
    });
  });
});

describe('upsampleBilinear (half-pixel centres, edges clamped)', () => {
  const ramp = (i: number, j: number) => 10 * i + j;
  const src = (o: number, inSize: number, outSize: number) => Math.min(inSize - 1, Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5));
  test.each([
    [2, 2, 4, 4],
    [2, 3, 3, 5],
    [3, 4, 7, 9],
    [4, 4, 2, 2],
  ])('%ix%i to %ix%i, two maps', (h, w, oh, ow) => {
    const data: number[] = [];
    for (const sign of [1, -1]) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) data.push(sign * ramp(i, j));
    const out = upsampleBilinear(f32([2, h, w], data), [oh, ow]);
    expect(out.dims).toEqual([2, oh, ow]);
    const want: number[] = [];
    for (const sign of [1, -1]) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) want.push(sign * ramp(src(y, h, oh), src(xx, w, ow)));
    // downscaling averages nothing here (bilinear samples two neighbours): the ramp is still exact
    expectClose(flat(out), want, 4);
  });
});
