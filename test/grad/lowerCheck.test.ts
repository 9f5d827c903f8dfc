/**
 * Lowering in use: a model with an LSTM is explained with graph gradients
 * through its lowering, which agree with the engine's own finite differences
 * on the original model; and a lowering that does not reproduce the model
 * (a planted one, with two gates swapped) is caught by the run-time check:
 * not used, finite differences instead, and the reason says by how much the
 * output moved. Asked for graph gradients, the same reason is the error.
 */
import { Explainer, saliency, GraphBuilder, DataType, makeModel, findLowering, registerLowering, type Tensor, type Lowering } from '@onnx-explain/core';
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
