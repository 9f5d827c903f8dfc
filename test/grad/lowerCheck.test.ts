/**
 * Lowering in use: a model with an LSTM is explained with graph gradients
 * through its lowering, which agree with the engine's own finite differences
 * on the original model; and a lowering that does not reproduce the model
 * (a planted one, with two gates swapped) is caught by the run-time check:
 * not used, finite differences instead, and the reason says by how much the
 * output moved. Asked for graph gradients, the same reason is the error.
 */
import { Explainer, saliency, GraphBuilder, DataType, makeModel, findLowering, registerLowering, gradientCoverage, finiteDifferenceReason, type Tensor, type Lowering } from '@onnx-explain/core';
import { runtime, values } from './fd';

const T = 5;
const I = 3;
const H = 4;

function lstmModel(): Explainer {
  const g = new GraphBuilder('lstm');
  const x = g.input('x', DataType.FLOAT, ['N', T, I]);
  const w = (dims: number[], seed: number) => g.constant(values(dims.reduce((a, b) => a * b, 1), 'normal', seed).map((v) => v * 0.6), dims);
  const xt = g.op('Transpose', [x], { perm: [1, 0, 2] });
  const [, yh] = g.opN('LSTM', [xt, w([1, 4 * H, I], 1), w([1, 4 * H, H], 2), w([1, 8 * H], 3)], 2, { hidden_size: H });
  g.output(g.op('Squeeze', [yh, g.constant(BigInt64Array.from([0n]), [1])], {}, { output: 'y' }), DataType.FLOAT, ['N', H]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 14 }));
}

const input = (): Record<string, Tensor> => ({ x: { type: 'float32', dims: [2, T, I], data: values(2 * T * I, 'normal', 5) } });

test('graph gradients through the lowered LSTM equal finite differences on the original', async () => {
  const ex = lstmModel();
  try {
    const graph = await saliency(ex, input(), { target: 1, abs: false });
    expect(graph.gradientSource).toBe('graph');
    expect(graph.lowered).toEqual(['LSTM (LSTM_node)']);
    const fd = await saliency(ex, input(), { target: 1, abs: false, gradients: 'fd' });
    expect(fd.gradientSource).toBe('fd');
    const a = graph.attributions.x.data as Float32Array;
    const b = fd.attributions.x.data as Float32Array;
    let num = 0;
    let den = 0;
    a.forEach((v, i) => {
      num += (v - b[i]) ** 2;
      den += b[i] ** 2;
    });
    expect(Math.sqrt(den)).toBeGreaterThan(0.1);
    // float32 central differences with a step of eps^(1/3)|x|: ~1e-4 relative
    expect(Math.sqrt(num / den)).toBeLessThan(2e-3);
  } finally {
    await ex.release();
  }
});

describe('a lowering that changes the output', () => {
  const real = findLowering('LSTM', '')!;
  // the output gate and the forget gate swapped (W's gate blocks i o f c read as i f o c): plausible, and wrong
  const swapped: Lowering = (c) => {
    const w = c.x[1];
    const perm = c.e.op('Concat', [0, 2, 1, 3].map((k) => c.e.slice(w, [k * H], [(k + 1) * H], [1])), { axis: 1 });
    return real({ ...c, x: [c.x[0], perm, ...c.x.slice(2)] });
  };
  beforeAll(() => registerLowering('LSTM', swapped));
  afterAll(() => registerLowering('LSTM', real));

  test('is not used: finite differences, with the reason', async () => {
    const ex = lstmModel();
    try {
      const r = await saliency(ex, input(), { target: 1, abs: false });
      expect(r.gradientSource).toBe('fd');
      expect(r.lowered).toBeUndefined();
      expect(r.fdReason).toMatch(/no gradient rule for op LSTM .*lowering LSTM \(LSTM_node\) to standard ops changed output 'y' by up to \d\.\d\de-\d+ .*so it is not used/);
    } finally {
      await ex.release();
    }
  });

  test('with graph gradients asked for, the reason is the error', async () => {
    const ex = lstmModel();
    try {
      await expect(saliency(ex, input(), { target: 1, abs: false, gradients: 'graph' })).rejects.toThrow(/changed output 'y'.*not used/);
    } finally {
      await ex.release();
    }
  });
});

describe('If', () => {
  /** y = If(cond, then: x * 3, else: x + 1) with cond a constant or an input */
  function ifModel(cond: 'true' | 'false' | 'input') {
    const g = new GraphBuilder('if');
    const x = g.input('x', DataType.FLOAT, ['N', 2]);
    const c = cond === 'input' ? g.input('c', DataType.BOOL, []) : g.constant(Uint8Array.from([cond === 'true' ? 1 : 0]), [], { dataType: DataType.BOOL });
    const branch = (name: string, op: string, k: number) => {
      const b = new GraphBuilder(name, g.names);
      const out = b.op(op, [x, b.constant(Float32Array.from([k]), [])], {}, { output: `${name}_out` });
      b.output(out, DataType.FLOAT);
      return b.build();
    };
    g.output(g.op('If', [c], { then_branch: branch('then', 'Mul', 3), else_branch: branch('else', 'Add', 1) }, { output: 'y' }), DataType.FLOAT, ['N', 2]);
    return makeModel(g.build(), { opset: 13 });
  }
  const x = { x: { type: 'float32' as const, dims: [1, 2], data: Float32Array.from([0.5, -2]) } };

  test.each([
    ['true', 3],
    ['false', 1],
  ] as const)('with a constant condition (%s) is inlined: the taken branch is differentiated by graph', async (cond, slope) => {
    const ex = new Explainer(runtime, ifModel(cond));
    try {
      const r = await saliency(ex, x, { target: 1, abs: false });
      expect(r.gradientSource).toBe('graph');
      expect(r.lowered).toEqual(['If (If_node)']);
      expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([0, slope]);
    } finally {
      await ex.release();
    }
  });

  test('with a condition fed at run time is not: finite differences, and coverage says so first (the builder no longer skips a branch that reads x from the outer scope)', async () => {
    const m = ifModel('input');
    const c = gradientCoverage(m, { wrt: ['x'] });
    expect(c.verdict).toBe('finite-differences');
    expect(finiteDifferenceReason(c)).toBe('no gradient rule or lowering for If (If_node)');
    const ex = new Explainer(runtime, m);
    try {
      const r = await saliency(ex, { ...x, c: { type: 'bool', dims: [], data: Uint8Array.from([1]) } }, { target: 1, abs: false });
      expect(r.gradientSource).toBe('fd');
      expect(r.fdReason).toBe('no gradient rule or lowering for If (If_node)');
      expect(Array.from(r.attributions.x.data as Float32Array).map((v) => Math.round(v * 1e3) / 1e3)).toEqual([0, 3]);
    } finally {
      await ex.release();
    }
  });
});
