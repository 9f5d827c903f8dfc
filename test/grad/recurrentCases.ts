/**
 * LSTM, GRU and RNN cases over their attribute combinations, for the
 * lowering's tests (lower.test.ts); reference64.test.ts counts them among
 * the cases that exercise the float64 reference evaluators.
 */
import { Attr, DataType, GraphBuilder, makeModel, type AttrValue, type ModelProto, type Tensor } from '@onnx-explain/core';
import { tensor, values } from './fd';

export interface RecurrentCase {
  name: string;
  op: 'LSTM' | 'GRU' | 'RNN';
  opset: number;
  dirs: 1 | 2;
  attrs: Record<string, AttrValue | undefined>;
  bias?: boolean;
  /** initial_h (and initial_c) as differentiated inputs */
  initial?: boolean;
  peepholes?: boolean;
  seqLens?: number[];
  layout?: 0 | 1;
}

const T = 4;
const B = 2;
const I = 3;
const H = 3;

const gateCount = { LSTM: 4, GRU: 3, RNN: 1 };

export function recurrentCaseModel(c: RecurrentCase, seed: number): { model: ModelProto; inputs: Record<string, Tensor> } {
  const b = new GraphBuilder(c.name);
  const g = gateCount[c.op];
  const xDims = c.layout === 1 ? [B, T, I] : [T, B, I];
  const sDims = c.layout === 1 ? [B, c.dirs, H] : [c.dirs, B, H];
  const inputs: Record<string, Tensor> = { x: tensor(xDims, 'normal', seed) };
  b.input('x', DataType.FLOAT, xDims);
  // weights of order 1/sqrt(H), as trained recurrent nets have: gates neither saturated nor linear
  const w = (dims: number[], k: number) => b.constant(values(dims.reduce((p, q) => p * q, 1), 'normal', seed * 10 + k).map((v) => v * 0.6), dims);
  const ins = ['x', w([c.dirs, g * H, I], 1), w([c.dirs, g * H, H], 2), c.bias ? w([c.dirs, 2 * g * H], 3) : ''];
  ins.push(c.seqLens ? b.constant(Int32Array.from(c.seqLens), [B], { dataType: DataType.INT32 }) : '');
  if (c.initial) {
    inputs.h0 = tensor(sDims, 'normal', seed + 100);
    b.input('h0', DataType.FLOAT, sDims);
    ins.push('h0');
    if (c.op === 'LSTM') {
      inputs.c0 = tensor(sDims, 'normal', seed + 200);
      b.input('c0', DataType.FLOAT, sDims);
      ins.push('c0');
    }
  } else if (c.op === 'LSTM') ins.push('', '');
  else ins.push('');
  if (c.peepholes) ins.push(w([c.dirs, 3 * H], 4));
  while (ins[ins.length - 1] === '') ins.pop();
  const attrs = { hidden_size: H, ...(c.dirs === 2 ? { direction: 'bidirectional' } : {}), ...(c.layout ? { layout: c.layout } : {}), ...c.attrs };
  const outs = b.opN(c.op, ins, c.op === 'LSTM' ? 3 : 2, attrs);
  const flat = outs.map((o) => b.op('Reshape', [o, b.constant(BigInt64Array.from([-1n]), [1])]));
  b.output(b.op('Concat', flat, { axis: 0 }), DataType.FLOAT);
  return { model: makeModel(b.build(), { opset: c.opset }), inputs };
}

export const recurrentCases: RecurrentCase[] = [
  { name: 'LSTM forward, defaults', op: 'LSTM', opset: 9, dirs: 1, attrs: {} },
  { name: 'LSTM reverse, bias, initial state', op: 'LSTM', opset: 9, dirs: 1, attrs: { direction: 'reverse' }, bias: true, initial: true },
  { name: 'LSTM bidirectional, bias, initial state, peepholes', op: 'LSTM', opset: 13, dirs: 2, attrs: {}, bias: true, initial: true, peepholes: true },
  { name: 'LSTM clip', op: 'LSTM', opset: 9, dirs: 1, attrs: { clip: Attr.float(0.7) }, bias: true },
  { name: 'LSTM clip (opset 13)', op: 'LSTM', opset: 13, dirs: 2, attrs: { clip: Attr.float(0.7) }, bias: true },
  { name: 'LSTM input_forget, peepholes', op: 'LSTM', opset: 13, dirs: 1, attrs: { input_forget: 1 }, bias: true, initial: true, peepholes: true },
  {
    name: 'LSTM activations HardSigmoid/LeakyRelu/ScaledTanh with alpha, beta',
    op: 'LSTM', opset: 13, dirs: 1, bias: true,
    attrs: { activations: ['HardSigmoid', 'ScaledTanh', 'LeakyRelu'], activation_alpha: [0.3, 0.9, 0.2], activation_beta: [0.45, 1.1] },
  },
  { name: 'LSTM activations Softsign/Softplus/Elu (Elu alpha default)', op: 'LSTM', opset: 13, dirs: 1, bias: true, attrs: { activations: ['Softsign', 'Softplus', 'Elu'] } },
  { name: 'LSTM bidirectional, sequence_lens [4, 2]', op: 'LSTM', opset: 13, dirs: 2, attrs: {}, bias: true, initial: true, seqLens: [4, 2] },
  { name: 'LSTM layout 1 (batch-major), bidirectional', op: 'LSTM', opset: 14, dirs: 2, attrs: {}, bias: true, initial: true, layout: 1 },
  { name: 'GRU forward, defaults', op: 'GRU', opset: 9, dirs: 1, attrs: {} },
  { name: 'GRU bias, initial state', op: 'GRU', opset: 9, dirs: 1, attrs: {}, bias: true, initial: true },
  { name: 'GRU linear_before_reset, bias, initial state', op: 'GRU', opset: 13, dirs: 1, attrs: { linear_before_reset: 1 }, bias: true, initial: true },
  { name: 'GRU linear_before_reset, bias, zero state', op: 'GRU', opset: 13, dirs: 1, attrs: { linear_before_reset: 1 }, bias: true },
  { name: 'GRU bidirectional, sequence_lens [1, 3], clip', op: 'GRU', opset: 13, dirs: 2, attrs: { clip: Attr.float(0.8) }, bias: true, initial: true, seqLens: [1, 3] },
  { name: 'GRU activations Sigmoid/Softsign', op: 'GRU', opset: 13, dirs: 1, attrs: { activations: ['Sigmoid', 'Softsign'] }, bias: true },
  { name: 'GRU activations HardSigmoid (alpha, beta)/Affine (alpha, beta)', op: 'GRU', opset: 13, dirs: 1, attrs: { activations: ['HardSigmoid', 'Affine'], activation_alpha: [0.3, 0.8], activation_beta: [0.4, 0.1] }, bias: true, initial: true },
  { name: 'GRU layout 1, reverse', op: 'GRU', opset: 14, dirs: 1, attrs: { direction: 'reverse' }, bias: true, initial: true, layout: 1 },
  { name: 'RNN forward, defaults (Tanh)', op: 'RNN', opset: 9, dirs: 1, attrs: {} },
  { name: 'RNN bidirectional, bias, initial state, Sigmoid/Tanh', op: 'RNN', opset: 13, dirs: 2, attrs: { activations: ['Sigmoid', 'Tanh'] }, bias: true, initial: true },
  { name: 'RNN bidirectional, Relu/LeakyRelu (alpha)', op: 'RNN', opset: 13, dirs: 2, attrs: { activations: ['Relu', 'LeakyRelu'], activation_alpha: [0.2] }, bias: true, initial: true },
  { name: 'RNN reverse, sequence_lens [3, 4], clip', op: 'RNN', opset: 13, dirs: 1, attrs: { direction: 'reverse', clip: Attr.float(0.9) }, bias: true, initial: true, seqLens: [3, 4] },
];

