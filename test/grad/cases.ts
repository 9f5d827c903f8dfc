/**
 * Single-op gradient cases: each builds one op (or a tiny graph around it)
 * with given input shapes and attributes; ops.test.ts checks every case
 * against float64 finite differences (fd.ts), and reference64.test.ts checks
 * the oracle's forward function on every case. The last section leaves out
 * every defaultable attribute the rules read, so defaults are checked too.
 */
import { Attr, GraphBuilder, DataType, makeModel, type AttrValue, type ModelProto } from '@onnx-explain/core';
import { tensor, type Gen } from './fd';
import type { Tensor } from '@onnx-explain/core';

export interface OpCase {
  name: string;
  opset: number;
  inputs: Record<string, Tensor>;
  /** inputs to differentiate (default: all inputs) */
  wrt?: string[];
  build: (b: GraphBuilder, x: Record<string, string>) => string;
  /** central-difference step (default FD_STEP = 1e-5), scaled down with small-scale inputs */
  h?: number;
}

/** The case's float32 model: its inputs, the graph build() makes, one output. */
export function caseModel(c: OpCase): ModelProto {
  const b = new GraphBuilder(c.name);
  const names: Record<string, string> = {};
  for (const [k, t] of Object.entries(c.inputs)) names[k] = b.input(k, DataType.FLOAT, t.dims);
  const y = c.build(b, names);
  b.output(y, DataType.FLOAT);
  return makeModel(b.build(), { opset: c.opset });
}

const cases: OpCase[] = [];
let seed = 1;
const T = (dims: number[], gen: Gen = 'normal') => tensor(dims, gen, seed++);

/** A case with one node of opType over the given inputs (plus constant extra inputs). */
function op(name: string, opType: string, inputs: Record<string, Tensor>, attrs: Record<string, AttrValue | undefined> = {}, opset = 17, extra: (b: GraphBuilder) => string[] = () => [], h?: number) {
  cases.push({ name, opset, inputs, h, build: (b, x) => b.op(opType, [...Object.keys(inputs).map((k) => x[k]), ...extra(b)], attrs) });
}
const i64 = (b: GraphBuilder, v: number[], dims = [v.length]) => b.constant(BigInt64Array.from(v.map(BigInt)), dims);
const f32 = (b: GraphBuilder, v: number[], dims = [v.length]) => b.constant(Float32Array.from(v), dims);
/** t times s (in float32); such cases pass a step h scaled by s (see fd.ts). */
const scaled = (t: Tensor, s: number): Tensor => ({ ...t, data: (t.data as Float32Array).map((v) => v * s) });

// ---- element-wise unary
op('Neg', 'Neg', { x: T([2, 3]) });
op('Abs', 'Abs', { x: T([2, 3], 'awayFromZero') });
op('Sqrt', 'Sqrt', { x: T([2, 3], 'positive') });
op('Exp', 'Exp', { x: T([2, 3]) });
op('Log', 'Log', { x: T([2, 3], 'positive') });
op('Reciprocal', 'Reciprocal', { x: T([2, 3], 'positive') });
op('Erf', 'Erf', { x: T([2, 3]) });
op('Tanh', 'Tanh', { x: T([2, 3]) });
op('Sigmoid', 'Sigmoid', { x: T([2, 3]) });
op('Softplus', 'Softplus', { x: T([2, 3]) });
op('Softsign', 'Softsign', { x: T([2, 3], 'awayFromZero') });
op('HardSigmoid default', 'HardSigmoid', { x: T([3, 4], 'distinct') });
op('HardSigmoid alpha beta', 'HardSigmoid', { x: T([3, 4], 'distinct') }, { alpha: 0.4, beta: 0.3 });
op('HardSwish', 'HardSwish', { x: T([3, 4], 'distinct') }, {}, 14);
op('Relu', 'Relu', { x: T([3, 4], 'awayFromZero') });
op('LeakyRelu', 'LeakyRelu', { x: T([3, 4], 'awayFromZero') }, { alpha: 0.1 });
op('Elu', 'Elu', { x: T([3, 4], 'awayFromZero') }, { alpha: 0.7 });
op('Selu', 'Selu', { x: T([3, 4], 'awayFromZero') });
op('Celu', 'Celu', { x: T([3, 4], 'awayFromZero') }, { alpha: 1.5 });
op('Gelu erf', 'Gelu', { x: T([3, 4]) }, {}, 20);
op('Gelu tanh', 'Gelu', { x: T([3, 4]) }, { approximate: 'tanh' }, 20);
op('Clip opset 7 attrs', 'Clip', { x: T([3, 4], 'distinct') }, { min: -0.245, max: 0.315 }, 7);
op('Clip opset 13 inputs (ReLU6 style)', 'Clip', { x: T([3, 4], 'distinct') }, {}, 13, (b) => [f32(b, [-0.245], []), f32(b, [0.315], [])]);
op('Clip only min', 'Clip', { x: T([3, 4], 'distinct') }, {}, 13, (b) => [f32(b, [-0.245], [])]);
op('Identity', 'Identity', { x: T([2, 3]) });
op('Dropout (inference)', 'Dropout', { x: T([2, 3]) }, {}, 13);
cases.push({
  name: 'Cast float -> double -> float',
  opset: 13,
  inputs: { x: T([2, 3]) },
  build: (b, x) => b.op('Cast', [b.op('Tanh', [b.op('Cast', [x.x], { to: DataType.DOUBLE })])], { to: DataType.FLOAT }),
});

// ---- element-wise binary, broadcasting both ways
op('Add broadcast [2,3,4]+[3,1]', 'Add', { a: T([2, 3, 4]), b: T([3, 1]) });
op('Sub broadcast [2,3]-[3]', 'Sub', { a: T([2, 3]), b: T([3]) });
op('Mul broadcast [2,1,4]*[3,1]', 'Mul', { a: T([2, 1, 4]), b: T([3, 1]) });
op('Div broadcast [2,3]/[2,1]', 'Div', { a: T([2, 3]), b: T([2, 1], 'positive') });
op('Pow tensor exponent', 'Pow', { a: T([2, 3], 'positive'), b: T([3]) });
op('Pow constant exponent', 'Pow', { a: T([2, 3], 'positive') }, {}, 13, (b) => [f32(b, [3], [])]);
op('Max of three', 'Max', { a: T([2, 3], 'distinct'), b: T([3], 'distinct2'), c: T([2, 1], 'distinct3') });
op('Min of two', 'Min', { a: T([2, 3], 'distinct'), b: T([2, 3], 'distinct2') });
op('Sum of three', 'Sum', { a: T([2, 3]), b: T([3]), c: T([2, 1]) });
op('Mean of two', 'Mean', { a: T([2, 3]), b: T([3]) });
op('PRelu slope per channel', 'PRelu', { x: T([2, 3, 2], 'awayFromZero'), slope: T([3, 1]) });
cases.push({
  name: 'Where with broadcast branches',
  opset: 13,
  inputs: { a: T([2, 3]), b: T([3]) },
  build: (b, x) => b.op('Where', [b.constant(Uint8Array.from([1, 0, 1, 0, 0, 1]), [2, 3], { dataType: DataType.BOOL }), x.a, x.b]),
});

// ---- MatMul, Gemm, Einsum
op('MatMul 2D', 'MatMul', { a: T([2, 3]), b: T([3, 4]) });
op('MatMul batched x 2D', 'MatMul', { a: T([2, 2, 3]), b: T([3, 4]) });
op('MatMul broadcast batch', 'MatMul', { a: T([2, 1, 2, 3]), b: T([3, 3, 4]) });
op('MatMul 1D x 2D', 'MatMul', { a: T([3]), b: T([3, 4]) });
op('MatMul 2D x 1D', 'MatMul', { a: T([2, 3]), b: T([3]) });
op('MatMul batched x 1D', 'MatMul', { a: T([2, 4, 3]), b: T([3]) });
for (const transA of [0, 1]) {
  for (const transB of [0, 1]) {
    op(`Gemm transA=${transA} transB=${transB} alpha beta, C [4]`, 'Gemm',
      { a: T(transA ? [3, 2] : [2, 3]), b: T(transB ? [4, 3] : [3, 4]), c: T([4]) }, { transA, transB, alpha: 0.7, beta: 1.3 });
  }
}
op('Gemm C [2,1]', 'Gemm', { a: T([2, 3]), b: T([3, 4]), c: T([2, 1]) });
op('Gemm C [2,4] no C grad needed', 'Gemm', { a: T([2, 3]), b: T([3, 4]), c: T([2, 4]) }, { alpha: Attr.float(2) });
op('Gemm without C (opset 11)', 'Gemm', { a: T([2, 3]), b: T([3, 4]) }, {}, 11);
op('Einsum ij,jk->ik', 'Einsum', { a: T([2, 3]), b: T([3, 4]) }, { equation: 'ij,jk->ik' }, 12);
op('Einsum bij,bjk->bik', 'Einsum', { a: T([2, 2, 3]), b: T([2, 3, 4]) }, { equation: 'bij,bjk->bik' }, 12);
op('Einsum ij->ji', 'Einsum', { a: T([2, 3]) }, { equation: 'ij->ji' }, 12);
op('Einsum ij,j->i (sum inside one operand too)', 'Einsum', { a: T([2, 3]), b: T([3]) }, { equation: 'ij,j->i' }, 12);
op('Einsum ij->i (reduction)', 'Einsum', { a: T([2, 3]) }, { equation: 'ij->i' }, 12);
op('Einsum ...ij,...jk->...ik', 'Einsum', { a: T([2, 2, 3]), b: T([2, 3, 2]) }, { equation: '...ij,...jk->...ik' }, 12);
op('Einsum implicit output ij,jk', 'Einsum', { a: T([2, 3]), b: T([3, 4]) }, { equation: 'ij,jk' }, 12);

// ---- Conv and ConvTranspose (gradient with respect to the input; weights are constants)
function conv(name: string, x: number[], w: number[], attrs: Record<string, AttrValue | undefined>, opset = 17, bias = false, opType = 'Conv') {
  const wt = T(w);
  const bt = T([opType === 'Conv' ? w[0] : w[1] * ((attrs.group as number) ?? 1)]);
  cases.push({
    name, opset, inputs: { x: T(x) },
    build: (b, v) => b.op(opType, [v.x, b.constant(wt.data as Float32Array, w), ...(bias ? [b.constant(bt.data as Float32Array, bt.dims)] : [])], attrs),
  });
}
conv('Conv 3x3', [1, 2, 5, 5], [3, 2, 3, 3], {});
conv('Conv stride 2 pads 1 bias', [2, 2, 6, 5], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, 17, true);
conv('Conv asymmetric pads stride 2 (output_padding needed)', [1, 1, 7, 6], [2, 1, 3, 2], { strides: [2, 3], pads: [0, 1, 2, 0] });
conv('Conv 7x7 stride 2 pads 3 (ResNet stem)', [2, 3, 11, 12], [4, 3, 7, 7], { strides: [2, 2], pads: [3, 3, 3, 3] });
conv('Conv 2x2 stride 2 (one tap per phase)', [1, 2, 6, 7], [3, 2, 2, 2], { strides: [2, 2] });
conv('Conv 4x3 stride 3 pads 2 1 0 1', [1, 2, 10, 9], [2, 2, 4, 3], { strides: [3, 3], pads: [2, 1, 0, 1] });
conv('Conv 1x1 stride 2 (kernel below the stride: ConvTranspose)', [1, 3, 6, 6], [2, 3, 1, 1], { strides: [2, 2] });
conv('Conv dilations 2', [1, 2, 7, 7], [2, 2, 3, 3], { dilations: [2, 2] });
conv('Conv group 2', [1, 4, 5, 5], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] });
conv('Conv depthwise', [1, 3, 5, 5], [3, 1, 3, 3], { group: 3, pads: [1, 1, 1, 1], strides: [2, 2] });
conv('Conv auto_pad SAME_UPPER stride 2', [1, 2, 6, 7], [2, 2, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
conv('Conv auto_pad SAME_LOWER', [1, 2, 5, 6], [2, 2, 2, 2], { auto_pad: 'SAME_LOWER' });
conv('Conv auto_pad VALID stride 2', [1, 2, 7, 7], [2, 2, 3, 3], { auto_pad: 'VALID', strides: [2, 2] });
conv('Conv 1D', [2, 2, 9], [3, 2, 3], { strides: [2], pads: [1, 0] });
conv('Conv opset 8', [1, 2, 5, 5], [2, 2, 3, 3], { pads: [1, 1, 1, 1] }, 8);
conv('ConvTranspose stride 2', [1, 2, 3, 3], [2, 3, 3, 3], { strides: [2, 2] }, 17, false, 'ConvTranspose');
conv('ConvTranspose pads output_padding', [1, 2, 3, 4], [2, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 0], output_padding: [1, 1] }, 17, true, 'ConvTranspose');
conv('ConvTranspose group 2 dilations', [1, 4, 3, 3], [4, 1, 2, 2], { group: 2, dilations: [2, 2] }, 17, false, 'ConvTranspose');
conv('ConvTranspose auto_pad SAME_UPPER', [1, 2, 3, 3], [2, 2, 3, 3], { strides: [2, 2], auto_pad: 'SAME_UPPER' }, 17, false, 'ConvTranspose');
conv('ConvTranspose output_shape', [1, 2, 3, 3], [2, 2, 3, 3], { strides: [2, 2], output_shape: [6, 6] }, 17, false, 'ConvTranspose');

// ---- pooling (values kept apart so the arg-max does not move under the FD step)
op('MaxPool 2x2 stride 2', 'MaxPool', { x: T([1, 2, 4, 4], 'distinct') }, { kernel_shape: [2, 2], strides: [2, 2] });
op('MaxPool 3x3 stride 1 pads 1 (overlapping)', 'MaxPool', { x: T([1, 2, 4, 4], 'distinct') }, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
op('MaxPool 3x3 stride 2 ceil_mode', 'MaxPool', { x: T([1, 1, 6, 6], 'distinct') }, { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
op('MaxPool dilations 2', 'MaxPool', { x: T([1, 1, 6, 6], 'distinct') }, { kernel_shape: [2, 2], dilations: [2, 2] });
op('MaxPool auto_pad SAME_UPPER', 'MaxPool', { x: T([1, 1, 5, 5], 'distinct') }, { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' });
op('MaxPool 1D', 'MaxPool', { x: T([2, 2, 7], 'distinct') }, { kernel_shape: [3], strides: [2] });
op('MaxPool 3x3 stride 2 pads 1, opset 13', 'MaxPool', { x: T([1, 2, 7, 7], 'distinct') }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 13);
op('MaxPool 2x2 stride 2, batch 2, opset 11', 'MaxPool', { x: T([2, 2, 4, 6], 'distinct') }, { kernel_shape: [2, 2], strides: [2, 2] }, 11);
op('MaxPool 3x3 stride 2 dilations 2 pads 2, batch 2', 'MaxPool', { x: T([2, 3, 9, 9], 'distinct') }, { kernel_shape: [3, 3], strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] });
op('MaxPool opset 8', 'MaxPool', { x: T([1, 2, 4, 4], 'distinct') }, { kernel_shape: [2, 2], strides: [2, 2] }, 8);
op('AveragePool 3x3 stride 2 pads 1 exclude pad', 'AveragePool', { x: T([1, 2, 5, 5]) }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
op('AveragePool include pad', 'AveragePool', { x: T([1, 2, 5, 5]) }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 });
op('AveragePool ceil_mode', 'AveragePool', { x: T([1, 1, 6, 6]) }, { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
op('AveragePool ceil_mode include pad', 'AveragePool', { x: T([1, 1, 6, 6]) }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 });
op('AveragePool 1D', 'AveragePool', { x: T([2, 2, 7]) }, { kernel_shape: [2], strides: [2] });
op('GlobalAveragePool', 'GlobalAveragePool', { x: T([2, 3, 3, 2]) });
op('GlobalMaxPool', 'GlobalMaxPool', { x: T([2, 3, 3, 2], 'distinct') });

// ---- normalisation, softmax
cases.push({
  name: 'BatchNormalization (inference)', opset: 15, inputs: { x: T([2, 3, 2, 2]) },
  build: (b, x) => b.op('BatchNormalization', [x.x, f32(b, [1, -0.5, 2]), f32(b, [0.1, 0.2, 0.3]), f32(b, [0.5, -1, 0]), f32(b, [0.5, 2, 1.5])], { epsilon: 1e-3 }),
});
cases.push({
  name: 'BatchNormalization opset 9', opset: 9, inputs: { x: T([2, 3]) },
  build: (b, x) => b.op('BatchNormalization', [x.x, f32(b, [1, -0.5, 2]), f32(b, [0.1, 0.2, 0.3]), f32(b, [0.5, -1, 0]), f32(b, [0.5, 2, 1.5])]),
});
cases.push({
  name: 'InstanceNormalization', opset: 13, inputs: { x: T([2, 3, 4]) },
  build: (b, x) => b.op('InstanceNormalization', [x.x, f32(b, [1, -0.5, 2]), f32(b, [0.1, 0.2, 0.3])], { epsilon: 1e-3 }),
});
cases.push({
  name: 'LayerNormalization axis -1', opset: 17, inputs: { x: T([2, 3, 4]) },
  build: (b, x) => b.op('LayerNormalization', [x.x, f32(b, [1, -0.5, 2, 0.7]), f32(b, [0.1, 0.2, 0.3, 0])], { epsilon: 1e-3 }),
});
cases.push({
  name: 'LayerNormalization axis 1', opset: 17, inputs: { x: T([2, 3, 2]) },
  build: (b, x) => b.op('LayerNormalization', [x.x, b.constant(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2])], { axis: 1 }),
});
op('Softmax axis -1', 'Softmax', { x: T([2, 3, 4]) }, {}, 13);
op('Softmax axis 1 opset 11 (2-D coercion)', 'Softmax', { x: T([2, 3, 4]) }, { axis: 1 }, 11);
op('LogSoftmax axis 1', 'LogSoftmax', { x: T([2, 3, 4]) }, { axis: 1 }, 13);
op('LogSoftmax opset 11', 'LogSoftmax', { x: T([2, 3, 4]) }, {}, 11);

// ---- reductions
op('ReduceSum opset 11 attrs keepdims', 'ReduceSum', { x: T([2, 3, 4]) }, { axes: [1] }, 11);
op('ReduceSum opset 13 axes input no keepdims', 'ReduceSum', { x: T([2, 3, 4]) }, { keepdims: 0 }, 13, (b) => [i64(b, [0, 2])]);
op('ReduceSum all axes', 'ReduceSum', { x: T([2, 3], 'positive') }, { keepdims: 0 }, 13); // positive: no cancellation, so float32 and float64 sums agree to ~1e-7
op('ReduceMean opset 13', 'ReduceMean', { x: T([2, 3, 4]) }, { axes: [-1], keepdims: 0 }, 13);
op('ReduceMean opset 18 axes input', 'ReduceMean', { x: T([2, 3, 4]) }, {}, 18, (b) => [i64(b, [1, 2])]);
op('ReduceMax', 'ReduceMax', { x: T([2, 3, 4], 'distinct') }, { axes: [1], keepdims: 0 }, 13);
op('ReduceMin opset 18', 'ReduceMin', { x: T([2, 3, 4], 'distinct') }, {}, 18, (b) => [i64(b, [2])]);
op('ReduceL2', 'ReduceL2', { x: T([2, 3, 4]) }, { axes: [2] }, 13);
op('ReduceSumSquare', 'ReduceSumSquare', { x: T([2, 3]) }, { axes: [0] }, 13);
op('ReduceLogSumExp', 'ReduceLogSumExp', { x: T([2, 3]) }, { axes: [1] }, 13);

// ---- moving elements around
op('Reshape', 'Reshape', { x: T([2, 3, 4]) }, {}, 13, (b) => [i64(b, [4, -1])]);
op('Flatten axis 2', 'Flatten', { x: T([2, 3, 2, 2]) }, { axis: 2 });
op('Transpose perm', 'Transpose', { x: T([2, 3, 4]) }, { perm: [2, 0, 1] });
op('Transpose default', 'Transpose', { x: T([2, 3]) });
op('Squeeze opset 11 attrs', 'Squeeze', { x: T([2, 1, 3]) }, { axes: [1] }, 11);
op('Squeeze opset 13 input', 'Squeeze', { x: T([2, 1, 3, 1]) }, {}, 13, (b) => [i64(b, [1, -1])]);
op('Unsqueeze opset 11 attrs', 'Unsqueeze', { x: T([2, 3]) }, { axes: [0, 3] }, 11);
op('Unsqueeze opset 13 input', 'Unsqueeze', { x: T([2, 3]) }, {}, 13, (b) => [i64(b, [1])]);
op('Concat axis 1', 'Concat', { a: T([2, 3]), b: T([2, 1]), c: T([2, 2]) }, { axis: 1 });
op('Concat axis -1 rank 3', 'Concat', { a: T([2, 2, 3]), b: T([2, 2, 2]) }, { axis: -1 });
cases.push({
  name: 'Split opset 13 split input, one output unused', opset: 13, inputs: { x: T([2, 6]) },
  build: (b, x) => {
    const [p, , r] = b.opN('Split', [x.x, i64(b, [1, 2, 3])], 3, { axis: 1 });
    return b.op('Concat', [p, r], { axis: 1 });
  },
});
cases.push({
  name: 'Split opset 11 attr', opset: 11, inputs: { x: T([4, 3]) },
  build: (b, x) => {
    const [p, q] = b.opN('Split', [x.x], 2, { split: [1, 3] });
    return b.op('Mul', [b.op('ReduceSum', [q], { axes: [0], keepdims: 1 }), p]);
  },
});
cases.push({
  name: 'Split opset 18 num_outputs', opset: 18, inputs: { x: T([2, 6]) },
  build: (b, x) => {
    const [p, q] = b.opN('Split', [x.x], 2, { axis: 1, num_outputs: 2 });
    return b.op('Mul', [p, q]);
  },
});
op('Slice opset 9 attrs', 'Slice', { x: T([3, 5]) }, { starts: [1, 0], ends: [3, 4], axes: [0, 1] }, 9);
op('Slice negative starts', 'Slice', { x: T([3, 5]) }, {}, 13, (b) => [i64(b, [-2]), i64(b, [1000]), i64(b, [1])]);
op('Slice step 2', 'Slice', { x: T([3, 7]) }, {}, 13, (b) => [i64(b, [1]), i64(b, [7]), i64(b, [1]), i64(b, [2])]);
op('Slice step -1 (reverse)', 'Slice', { x: T([3, 5]) }, {}, 13, (b) => [i64(b, [-1]), i64(b, [-1000]), i64(b, [1]), i64(b, [-1])]);
op('Slice step -2 partial', 'Slice', { x: T([2, 8]) }, {}, 13, (b) => [i64(b, [6]), i64(b, [0]), i64(b, [1]), i64(b, [-2])]);
op('Gather axis 0 with a negative index', 'Gather', { x: T([4, 3]) }, { axis: 0 }, 13, (b) => [i64(b, [0, -1, 2, 2], [2, 2])]);
op('Gather axis 1 scalar index', 'Gather', { x: T([2, 4, 3]) }, { axis: 1 }, 13, (b) => [i64(b, [2], [])]);
op('Expand', 'Expand', { x: T([3, 1]) }, {}, 13, (b) => [i64(b, [2, 3, 4])]);
op('Pad opset 11 constant', 'Pad', { x: T([2, 3]) }, { mode: 'constant' }, 11, (b) => [i64(b, [1, 0, 0, 2])]);
op('Pad with negative pads (crop)', 'Pad', { x: T([3, 4]) }, {}, 13, (b) => [i64(b, [1, -1, -1, 2])]);
op('Pad opset 10 attrs', 'Pad', { x: T([2, 3]) }, { pads: [0, 1, 1, 0] }, 10);
op('Tile', 'Tile', { x: T([2, 3]) }, {}, 13, (b) => [i64(b, [2, 3])]);
op('DepthToSpace DCR', 'DepthToSpace', { x: T([1, 8, 2, 3]) }, { blocksize: 2 }, 13);
op('DepthToSpace CRD', 'DepthToSpace', { x: T([1, 8, 2, 3]) }, { blocksize: 2, mode: 'CRD' }, 13);
op('SpaceToDepth', 'SpaceToDepth', { x: T([1, 2, 4, 6]) }, { blocksize: 2 }, 13);


// ---- Resize / Upsample (linear maps: FD is exact up to rounding)
function resize(name: string, dims: number[], attrs: Record<string, AttrValue | undefined>, scales: number[] | null, sizes: number[] | null, opset = 13) {
  cases.push({
    name, opset, inputs: { x: tensor(dims, 'normal', 500 + cases.length) },
    build: (b, x) => {
      const ins = [x.x, opset >= 13 ? '' : f32(b, [], [0]), scales ? f32(b, scales) : '', ...(sizes ? [i64(b, sizes)] : [])];
      if (opset === 10) return b.op('Resize', [x.x, f32(b, scales!)], attrs);
      return b.op('Resize', ins, attrs);
    },
  });
}
resize('Resize nearest 2x asymmetric floor', [1, 2, 3, 3], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [1, 1, 2, 2], null);
resize('Resize nearest 1.5x half_pixel round_prefer_floor', [1, 1, 4, 4], { mode: 'nearest' }, [1, 1, 1.5, 1.5], null);
resize('Resize linear 2x half_pixel', [1, 2, 3, 4], { mode: 'linear' }, [1, 1, 2, 2], null);
resize('Resize linear align_corners sizes', [1, 1, 3, 4], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, null, [1, 1, 5, 7]);
resize('Resize linear pytorch_half_pixel downscale', [1, 1, 6, 6], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, [1, 1, 0.5, 0.5], null);
resize('Resize nearest round_prefer_ceil opset 11', [1, 1, 3, 3], { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }, [1, 1, 2.5, 2], null, 11);
resize('Resize opset 10', [1, 1, 3, 3], { mode: 'linear' }, [1, 1, 2, 2], null, 10);
resize('Resize linear half_pixel_symmetric opset 19', [1, 1, 3, 5], { mode: 'linear', coordinate_transformation_mode: 'half_pixel_symmetric' }, [1, 1, 1.7, 2.3], null, 19);
cases.push({
  name: 'Upsample opset 9 nearest', opset: 9, inputs: { x: tensor([1, 1, 2, 3], 'normal', 700) },
  build: (b, x) => b.op('Upsample', [x.x, f32(b, [1, 1, 2, 3])], { mode: 'nearest' }),
});
cases.push({
  name: 'Upsample opset 7 linear attrs', opset: 7, inputs: { x: tensor([1, 1, 2, 3], 'normal', 701) },
  build: (b, x) => b.op('Upsample', [x.x], { mode: 'linear', scales: Attr.floats([1, 1, 2, 2]) }),
});

// ---- attribute defaults: every attribute a rule reads with a default is
// left out somewhere, so the rule's default is checked against the runtime's.
// (Defaults already covered above: HardSigmoid, Selu, Gelu approximate, Gemm
// alpha/beta/trans*, Conv/MaxPool/AveragePool dilations, count_include_pad,
// ceil_mode, Transpose perm, Split axis (opset 11), Pad mode, DepthToSpace
// mode (DCR), reduce keepdims, Softmax opset 13 and LogSoftmax opset 11 axis.
// Concat's axis has no default since opset 4; Einsum's equation, Cast's to,
// the blocksizes and pool kernel_shape are required.)
op('LeakyRelu default alpha (0.01)', 'LeakyRelu', { x: T([3, 4], 'awayFromZero') });
op('Elu default alpha (1)', 'Elu', { x: T([3, 4], 'awayFromZero') });
op('Celu default alpha (1)', 'Celu', { x: T([3, 4], 'awayFromZero') });
op('Selu alpha gamma', 'Selu', { x: T([3, 4], 'awayFromZero') }, { alpha: 1.5, gamma: 0.9 });
// inputs over [-7, 6.3], 0.2 or more from the kinks at -2.5 and 2.5 (and HardSwish's at -3, 3): both saturate
op('HardSigmoid default alpha beta, saturating', 'HardSigmoid', { x: scaled(T([4, 5], 'distinct'), 10) });
op('HardSwish saturating', 'HardSwish', { x: scaled(T([4, 5], 'distinct'), 10) }, {}, 14);
op('Clip opset 7 without min and max (defaults: no bounds)', 'Clip', { x: T([3, 4]) }, {}, 7);
op('Clip opset 7 only max', 'Clip', { x: T([3, 4], 'distinct') }, { max: 0.315 }, 7);
op('Clip opset 13 without min and max', 'Clip', { x: T([3, 4]) }, {}, 13);
op('Clip opset 11 only max (empty min input)', 'Clip', { x: T([3, 4], 'distinct') }, {}, 11, (b) => ['', f32(b, [0.315], [])]);
op('Gemm opset 9 defaults (C required)', 'Gemm', { a: T([2, 3]), b: T([3, 4]), c: T([2, 4]) }, {}, 9);
conv('Conv 3-D defaults', [1, 2, 4, 4, 3], [2, 2, 2, 3, 2], {});
conv('Conv 1-D defaults with bias', [2, 3, 6], [2, 3, 3], {}, 17, true);
conv('ConvTranspose defaults', [1, 2, 3, 4], [2, 3, 2, 2], {}, 17, false, 'ConvTranspose');
conv('ConvTranspose auto_pad SAME_LOWER stride 2', [1, 2, 3, 3], [2, 2, 3, 3], { strides: [2, 2], auto_pad: 'SAME_LOWER' }, 17, false, 'ConvTranspose');
op('MaxPool default strides and pads', 'MaxPool', { x: T([1, 2, 4, 4], 'distinct') }, { kernel_shape: [2, 2] });
op('AveragePool default strides and pads', 'AveragePool', { x: T([1, 2, 4, 5]) }, { kernel_shape: [2, 2] });
op('AveragePool 3-D defaults', 'AveragePool', { x: T([1, 1, 3, 4, 3]) }, { kernel_shape: [2, 2, 2] });
op('AveragePool auto_pad SAME_UPPER stride 2', 'AveragePool', { x: T([1, 1, 5, 6]) }, { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' });
// small variances, so that epsilon moves the gradient by ~1e-3 relative
for (const [opset, dims] of [[9, [2, 3, 2]], [15, [2, 3, 2, 2]]] as const) {
  cases.push({
    name: `BatchNormalization default epsilon (1e-5) opset ${opset}`, opset, inputs: { x: T([...dims]) },
    build: (b, x) => b.op('BatchNormalization', [x.x, f32(b, [1, -0.5, 2]), f32(b, [0.1, 0.2, 0.3]), f32(b, [0.5, -1, 0]), f32(b, [0.01, 0.002, 0.005])]),
  });
}
// inputs of scale 0.03 (variance ~3e-4), so that epsilon matters at ~1e-2
cases.push({
  name: 'InstanceNormalization default epsilon (1e-5)', opset: 13, inputs: { x: scaled(T([2, 3, 4]), 0.03) }, h: 0.03e-5,
  build: (b, x) => b.op('InstanceNormalization', [x.x, f32(b, [1, -0.5, 2]), f32(b, [0.1, 0.2, 0.3])]),
});
cases.push({
  name: 'LayerNormalization defaults (axis -1, epsilon 1e-5)', opset: 17, inputs: { x: scaled(T([2, 3, 4]), 0.03) }, h: 0.03e-5,
  build: (b, x) => b.op('LayerNormalization', [x.x, f32(b, [1, -0.5, 2, 0.7]), f32(b, [0.1, 0.2, 0.3, 0])]),
});
op('Softmax opset 11 default axis (1, 2-D coercion)', 'Softmax', { x: T([2, 3, 4]) }, {}, 11);
op('LogSoftmax opset 13 default axis (-1)', 'LogSoftmax', { x: T([2, 3, 4]) }, {}, 13);
op('ReduceMean opset 13 no axes (all), default keepdims', 'ReduceMean', { x: T([2, 3, 4]) }, {}, 13);
op('ReduceMax opset 18 no axes (all), default keepdims', 'ReduceMax', { x: T([2, 3, 4], 'distinct') }, {}, 18);
op('ReduceSum opset 13 noop_with_empty_axes', 'ReduceSum', { x: T([2, 3]) }, { noop_with_empty_axes: 1 }, 13);
op('Flatten default axis (1)', 'Flatten', { x: T([2, 3, 2]) });
op('Gather default axis (0)', 'Gather', { x: T([4, 3]) }, {}, 13, (b) => [i64(b, [3, 1, 1])]);
cases.push({
  name: 'Split opset 13 default axis (0), equal parts', opset: 13, inputs: { x: T([4, 3]) },
  build: (b, x) => {
    const [p, q] = b.opN('Split', [x.x], 2);
    return b.op('Mul', [p, q]);
  },
});
op('Slice opset 13 default axes and steps', 'Slice', { x: T([3, 5]) }, {}, 13, (b) => [i64(b, [1, 1]), i64(b, [3, 4])]);
op('Squeeze opset 13 no axes (every unit axis)', 'Squeeze', { x: T([2, 1, 3, 1]) }, {}, 13);
op('Pad opset 18 axes input, default mode', 'Pad', { x: T([2, 3, 2]) }, {}, 18, (b) => [i64(b, [1, 2, 0, 1]), '', i64(b, [1, 2])]);
// Resize defaults: nearest, half_pixel, round_prefer_floor. Scales 2.5 and
// 1.5 put some source coordinates exactly on .5, where the rounding decides.
resize('Resize defaults opset 13 (nearest half_pixel round_prefer_floor)', [1, 1, 3, 4], {}, [1, 1, 2.5, 1.5], null);
resize('Resize defaults opset 11 (roi, scales)', [1, 1, 3, 4], {}, [1, 1, 2.5, 1.5], null, 11);
resize('Resize defaults opset 19, sizes', [1, 1, 3, 4], {}, null, [1, 1, 5, 7], 19);
resize('Resize opset 10 default mode (nearest)', [1, 1, 3, 3], {}, [1, 1, 2, 3], null, 10);
// onnxruntime rounds up when an axis shrinks (Resize-10 nearest)
resize('Resize opset 10 nearest downscale 0.6', [1, 1, 5, 5], { mode: 'nearest' }, [1, 1, 0.6, 0.6], null, 10);
resize('Resize nearest ceil half_pixel down and up', [1, 1, 4, 3], { mode: 'nearest', nearest_mode: 'ceil' }, [1, 1, 0.75, 1.5], null);
resize('Resize linear opset 18 axes, sizes, not_larger', [1, 2, 4, 6], { mode: 'linear', axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, null, [7, 8], 18);
cases.push({
  name: 'Upsample opset 9 default mode (nearest)', opset: 9, inputs: { x: tensor([1, 1, 2, 3], 'normal', 702) },
  build: (b, x) => b.op('Upsample', [x.x, f32(b, [1, 1, 2, 1.5])]),
});
cases.push({
  name: 'Upsample opset 7 default mode (nearest)', opset: 7, inputs: { x: tensor([1, 1, 2, 3], 'normal', 703) },
  build: (b, x) => b.op('Upsample', [x.x], { scales: Attr.floats([1, 1, 3, 2]) }),
});

// SiLU / Swish as exporters write it: the Mul rule takes both nodes at once
// when the sigmoid feeds only that Mul, and leaves them apart otherwise
cases.push({
  name: 'SiLU: Mul(x, Sigmoid(x))', opset: 17, inputs: { x: tensor([2, 3, 4], 'normal', 801) },
  build: (b, x) => b.op('Mul', [x.x, b.op('Sigmoid', [x.x])]),
});
cases.push({
  name: 'SiLU: Mul(Sigmoid(x), x), opset 7', opset: 7, inputs: { x: tensor([3, 4], 'normal', 802) },
  build: (b, x) => b.op('Mul', [b.op('Sigmoid', [x.x]), x.x]),
});
cases.push({
  name: 'Mul(x, Sigmoid(x)) where the sigmoid feeds another node too', opset: 17, inputs: { x: tensor([3, 4], 'normal', 803) },
  build: (b, x) => {
    const s = b.op('Sigmoid', [x.x]);
    return b.op('Add', [b.op('Mul', [x.x, s]), b.op('Mul', [s, s])]);
  },
});
cases.push({
  name: 'Mul(x, Sigmoid(z)) (squeeze-excitation gate, not a SiLU)', opset: 17, inputs: { x: tensor([2, 3], 'normal', 804), z: tensor([2, 3], 'normal', 805) },
  build: (b, x) => b.op('Mul', [x.x, b.op('Sigmoid', [x.z])]),
});

// INT64_MAX / INT64_MIN as Slice bounds: PyTorch's export of x[:, 1:] and x.flip(1)
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const big = (b: GraphBuilder, v: bigint[]) => b.constant(BigInt64Array.from(v), [v.length]);
cases.push({
  name: 'Slice opset 13, ends INT64_MAX (to the end)', opset: 13, inputs: { x: tensor([2, 5], 'normal', 811) },
  build: (b, x) => b.op('Slice', [x.x, big(b, [1n]), big(b, [INT64_MAX]), big(b, [1n])]),
});
cases.push({
  name: 'Slice opset 13, starts -1, ends INT64_MIN, steps -1 (a flip)', opset: 13, inputs: { x: tensor([2, 5], 'normal', 812) },
  build: (b, x) => b.op('Mul', [b.op('Slice', [x.x, big(b, [-1n]), big(b, [INT64_MIN]), big(b, [1n]), big(b, [-1n])]), f32(b, [1, 2, 3, 4, 5], [5])]),
});
cases.push({
  name: 'Slice opset 9 attributes, ends INT64_MAX', opset: 9, inputs: { x: tensor([3, 4], 'normal', 813) },
  build: (b, x) => b.op('Slice', [x.x], { starts: [0, 2], ends: Attr.ints([INT64_MAX.toString(), INT64_MAX.toString()] as never), axes: [0, 1] }),
});

// trigonometric and hyperbolic functions, each where it is defined (and away from its poles)
op('Sin', 'Sin', { x: tensor([2, 3], 'normal', 821) });
op('Cos', 'Cos', { x: tensor([2, 3], 'normal', 822) });
op('Tan', 'Tan', { x: scaled(tensor([2, 3], 'normal', 823), 0.4) });
op('Sinh', 'Sinh', { x: tensor([2, 3], 'normal', 824) });
op('Cosh', 'Cosh', { x: tensor([2, 3], 'normal', 825) });
op('Atan', 'Atan', { x: tensor([2, 3], 'normal', 826) });
op('Asinh', 'Asinh', { x: tensor([2, 3], 'normal', 827) });
for (const [name, seed] of [['Asin', 828], ['Acos', 829], ['Atanh', 830]] as const) {
  // inside (-1, 1): 0.8 tanh(x)
  cases.push({
    name: `${name} on 0.8 tanh(x)`, opset: 13, inputs: { x: tensor([2, 3], 'normal', seed) },
    build: (b, x) => b.op(name, [b.op('Mul', [b.op('Tanh', [x.x]), f32(b, [0.8], [])])]),
  });
}
cases.push({
  name: 'Acosh on 1.5 + x (x positive)', opset: 13, inputs: { x: tensor([2, 3], 'positive', 831) },
  build: (b, x) => b.op('Acosh', [b.op('Add', [x.x, f32(b, [1.5], [])])]),
});
op('Mish', 'Mish', { x: tensor([2, 5], 'normal', 832) }, {}, 18);
op('ThresholdedRelu default alpha', 'ThresholdedRelu', { x: scaled(tensor([3, 4], 'distinct', 833), 3) }, {}, 10);
op('ThresholdedRelu alpha 0.3', 'ThresholdedRelu', { x: tensor([3, 4], 'distinct', 834) }, { alpha: 0.3 }, 10);
op('Shrink default', 'Shrink', { x: scaled(tensor([3, 4], 'distinct', 835), 2) }, {}, 9);
op('Shrink lambd bias', 'Shrink', { x: scaled(tensor([3, 4], 'distinct', 836), 2) }, { lambd: 0.3, bias: 0.2 }, 9);
// Pow's exponent gradient where the base is 0: PyTorch's 0 (y log x would be 0 * -inf)
cases.push({
  // with respect to the exponent only: a central difference in the base at 0 steps into negative bases
  name: 'Pow with zeros in the base, exponents >= 1.5, d/d exponent', opset: 13, wrt: ['b'],
  inputs: { a: { type: 'float32', dims: [2, 3], data: Float32Array.from([0, 1.5, 0, 2, 0.5, 0]) }, b: { type: 'float32', dims: [3], data: Float32Array.from([1.5, 2.25, 3]) } },
  build: (b, x) => b.op('Pow', [x.a, x.b]),
});

// more reductions, and CumSum in every direction
op('ReduceL1', 'ReduceL1', { x: tensor([2, 3, 4], 'awayFromZero', 841) }, { axes: [1] }, 13);
op('ReduceL1 opset 18 axes input, no keepdims', 'ReduceL1', { x: tensor([2, 3], 'awayFromZero', 842) }, { keepdims: 0 }, 18, (b) => [i64(b, [0])]);
op('ReduceLogSum', 'ReduceLogSum', { x: tensor([2, 3, 4], 'positive', 843) }, { axes: [2], keepdims: 0 }, 13);
op('ReduceProd', 'ReduceProd', { x: tensor([2, 3, 4], 'awayFromZero', 846) }, { axes: [1] }, 13);
op('ReduceProd all axes, no keepdims', 'ReduceProd', { x: tensor([2, 3], 'awayFromZero', 847) }, { keepdims: 0 }, 13);
op('ReduceProd opset 18 axes input', 'ReduceProd', { x: tensor([3, 4], 'awayFromZero', 848) }, { keepdims: 1 }, 18, (b) => [i64(b, [-1])]);
// exact zeros: one in the first row (the others' product), two in the second (all 0); central differences at 0 are exact for a product
op('ReduceProd with zeros', 'ReduceProd', { x: { type: 'float32', dims: [3, 3], data: Float32Array.from([0, 1.5, -0.7, 0, 0, 2, 0.9, -1.1, 1.3]) } }, { axes: [1] }, 13);
// GatherND: repeated and negative index tuples (gradients summed), whole-row slices, and batch_dims 1 and 2
op('GatherND k=2, a repeated tuple', 'GatherND', { x: tensor([3, 4, 2], 'normal', 851) }, {}, 13, (b) => [i64(b, [0, 1, 2, 3, 0, 1, -1, -4], [4, 2])]);
op('GatherND k=1, whole rows, negative index', 'GatherND', { x: tensor([4, 3], 'normal', 852) }, {}, 11, (b) => [i64(b, [2, -1, 2], [3, 1])]);
op('GatherND batch_dims 1 (a pooler picking one position per row)', 'GatherND', { x: tensor([2, 5, 3], 'normal', 853) }, { batch_dims: 1 }, 12, (b) => [i64(b, [0, 4], [2, 1])]);
op('GatherND batch_dims 1, k=2, two tuples per row', 'GatherND', { x: tensor([2, 3, 4], 'normal', 854) }, { batch_dims: 1 }, 13, (b) => [i64(b, [0, 1, 2, 3, 1, 1, 1, 1], [2, 2, 2])]);
op('GatherND batch_dims 2', 'GatherND', { x: tensor([2, 3, 4, 2], 'normal', 855) }, { batch_dims: 2 }, 13, (b) => [i64(b, [0, 3, 1, 2, 0, 3], [2, 3, 1])]);
// GridSample: a grid reaching past the borders (to exercise the padding), random coordinates (off the integer kinks)
const gsGrid = (seed: number) => scaled(tensor([1, 3, 3, 2], 'normal', seed), 0.65);
op('GridSample bilinear zeros', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 856), grid: gsGrid(857) }, {}, 16);
op('GridSample bilinear zeros align_corners', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 858), grid: gsGrid(859) }, { align_corners: 1 }, 16);
op('GridSample bilinear border', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 860), grid: gsGrid(861) }, { padding_mode: 'border' }, 16);
op('GridSample bilinear reflection', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 862), grid: gsGrid(863) }, { padding_mode: 'reflection' }, 16);
op('GridSample bilinear reflection align_corners', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 864), grid: gsGrid(865) }, { padding_mode: 'reflection', align_corners: 1 }, 16);
op('GridSample nearest zeros', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 866), grid: gsGrid(867) }, { mode: 'nearest' }, 16);
op('GridSample nearest reflection', 'GridSample', { x: tensor([1, 2, 4, 5], 'normal', 868), grid: gsGrid(869) }, { mode: 'nearest', padding_mode: 'reflection' }, 16);
op('GridSample linear (opset 20) border, 2 examples', 'GridSample', { x: tensor([2, 1, 3, 4], 'normal', 870), grid: scaled(tensor([2, 2, 3, 2], 'normal', 871), 0.65) }, { mode: 'linear', padding_mode: 'border' }, 20);
// RotaryEmbedding (opset 23): 4-D with position ids, halves; 3-D with num_heads, interleaved, a partial rotary dimension, no ids
const angles = (b: GraphBuilder, rows: number, half: number, seed: number) => f32(b, Array.from(tensor([rows * half], 'normal', seed).data as Float32Array), [rows, half]);
op('RotaryEmbedding 4-D, position ids', 'RotaryEmbedding', { x: tensor([2, 2, 3, 4], 'normal', 872) }, {}, 23, (b) => [angles(b, 6, 2, 873), angles(b, 6, 2, 874), i64(b, [0, 2, 5, 1, 1, 3], [2, 3])]);
op('RotaryEmbedding 3-D, interleaved, rotary_embedding_dim 2, caches per position', 'RotaryEmbedding', { x: tensor([2, 3, 8], 'normal', 875) }, { num_heads: 2, interleaved: 1, rotary_embedding_dim: 2 }, 23, (b) => [f32(b, Array.from(tensor([6], 'normal', 876).data as Float32Array), [2, 3, 1]), f32(b, Array.from(tensor([6], 'normal', 877).data as Float32Array), [2, 3, 1])]);
op('Swish default alpha', 'Swish', { x: tensor([2, 5], 'normal', 849) }, {}, 24);
op('Swish alpha 1.7', 'Swish', { x: tensor([2, 5], 'normal', 850) }, { alpha: 1.7 }, 24);
for (const [exclusive, reverse] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
  op(`CumSum axis 1 exclusive ${exclusive} reverse ${reverse}`, 'CumSum', { x: tensor([2, 4, 3], 'normal', 850 + 2 * exclusive + reverse) }, { exclusive, reverse }, 14, (b) => [i64(b, [1], [])]);
}
op('CumSum axis -1 opset 11', 'CumSum', { x: tensor([3, 5], 'normal', 855) }, {}, 11, (b) => [i64(b, [-1], [])]);

// 3-D pooling with dilations (the node tests' test_maxpool_3d_dilations geometry)
op('MaxPool 3D kernel 2 dilations 2', 'MaxPool', { x: tensor([1, 1, 4, 4, 4], 'distinct', 861) }, { kernel_shape: [2, 2, 2], dilations: [2, 2, 2] });
op('MaxPool 3D kernel 2 stride 2, 2 channels', 'MaxPool', { x: tensor([1, 2, 4, 4, 4], 'distinct', 862) }, { kernel_shape: [2, 2, 2], strides: [2, 2, 2] });

// Trilu, ReverseSequence, LpNormalization
op('Trilu upper (default)', 'Trilu', { x: tensor([2, 3, 4], 'normal', 871) }, {}, 14);
op('Trilu lower, k = -1', 'Trilu', { x: tensor([2, 4, 3], 'normal', 872) }, { upper: 0 }, 14, (b) => [i64(b, [-1], [])]);
op('Trilu upper, k = 2', 'Trilu', { x: tensor([3, 5], 'normal', 873) }, { upper: 1 }, 14, (b) => [i64(b, [2], [])]);
op('ReverseSequence time-major', 'ReverseSequence', { x: tensor([4, 3, 2], 'normal', 874) }, { batch_axis: 1, time_axis: 0 }, 10, (b) => [i64(b, [4, 2, 1])]);
op('ReverseSequence batch-major', 'ReverseSequence', { x: tensor([2, 5, 3], 'normal', 875) }, { batch_axis: 0, time_axis: 1 }, 10, (b) => [i64(b, [3, 5])]);
op('LpNormalization p 2 (default), last axis', 'LpNormalization', { x: tensor([3, 4], 'normal', 876) });
op('LpNormalization p 1, axis 1', 'LpNormalization', { x: tensor([2, 3, 4], 'awayFromZero', 877) }, { p: 1, axis: 1 });
op('LpNormalization p 2, axis 0, opset 11', 'LpNormalization', { x: tensor([3, 4], 'normal', 878) }, { p: 2, axis: 0 }, 11);

// GatherElements: repeated and negative indices, every axis, indices shorter than data
const idx = (b: GraphBuilder, v: number[], dims: number[]) => b.constant(BigInt64Array.from(v.map(BigInt)), dims);
cases.push({
  name: 'GatherElements axis 1, repeated indices', opset: 13, inputs: { x: tensor([2, 3], 'normal', 881) },
  build: (b, x) => b.op('GatherElements', [x.x, idx(b, [0, 0, 2, 1, 1, 0, 2, 2], [2, 4])], { axis: 1 }),
});
cases.push({
  name: 'GatherElements axis 0 (default), negative indices, opset 11', opset: 11, inputs: { x: tensor([3, 2], 'normal', 882) },
  build: (b, x) => b.op('GatherElements', [x.x, idx(b, [-1, 0, 1, -3], [2, 2])]),
});
cases.push({
  name: 'GatherElements axis -1 of a 3-D tensor, indices shorter on axis 1', opset: 13, inputs: { x: tensor([2, 3, 4], 'normal', 883) },
  build: (b, x) => b.op('GatherElements', [x.x, idx(b, [3, 0, 1, 1, 2, 3, 0, 0, 3, 2, 1, 0], [2, 2, 3])], { axis: -1 }),
});

// GroupNormalization: per-group scale (opset 18) and per-channel scale (opset 21)
cases.push({
  name: 'GroupNormalization opset 18, 2 groups of 2 channels', opset: 18, inputs: { x: tensor([2, 4, 3, 2], 'normal', 891) },
  build: (b, x) => b.op('GroupNormalization', [x.x, f32(b, [1.5, -0.5]), f32(b, [0.1, 0.2])], { num_groups: 2, epsilon: 1e-3 }),
});
cases.push({
  name: 'GroupNormalization opset 21, 3 groups of 2 channels, 1-D', opset: 21, inputs: { x: tensor([2, 6, 5], 'normal', 892) },
  build: (b, x) => b.op('GroupNormalization', [x.x, f32(b, [1, -0.5, 2, 0.7, 1.2, -1]), f32(b, [0.1, 0.2, 0, -0.1, 0.3, 0])], { num_groups: 3 }),
});

// LpPool: p 2 (default), 1 and 3, with strides, pads and (opset 18) dilations and ceil_mode
op('LpPool p 2 kernel 2', 'LpPool', { x: tensor([1, 2, 4, 4], 'awayFromZero', 901) }, { kernel_shape: [2, 2] });
op('LpPool p 1 kernel 3 stride 2 pads 1', 'LpPool', { x: tensor([1, 1, 5, 5], 'awayFromZero', 902) }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], p: 1 });
op('LpPool p 3 1-D', 'LpPool', { x: tensor([2, 2, 7], 'awayFromZero', 903) }, { kernel_shape: [3], strides: [2], p: 3 });
op('LpPool opset 18 dilations 2 ceil_mode', 'LpPool', { x: tensor([1, 1, 6, 6], 'awayFromZero', 904) }, { kernel_shape: [2, 2], dilations: [2, 2], strides: [2, 2], ceil_mode: 1 }, 18);

// MeanVarianceNormalization and RMSNormalization
op('MeanVarianceNormalization axes [1]', 'MeanVarianceNormalization', { x: tensor([3, 5], 'normal', 911) }, { axes: [1] }, 13);
op('MeanVarianceNormalization default axes, one row', 'MeanVarianceNormalization', { x: tensor([1, 2, 3, 3], 'normal', 912) }, {}, 13);
cases.push({
  name: 'RMSNormalization last axis', opset: 23, inputs: { x: tensor([2, 3, 4], 'normal', 913) },
  build: (b, x) => b.op('RMSNormalization', [x.x, f32(b, [1, -0.5, 2, 0.7])], { epsilon: 1e-3 }),
});
cases.push({
  name: 'RMSNormalization axis 1 (two axes), default epsilon', opset: 23, inputs: { x: tensor([2, 3, 2], 'normal', 914) },
  build: (b, x) => b.op('RMSNormalization', [x.x, f32(b, [1, 2, -1, 0.5, 1.5, 0.8], [3, 2])], { axis: 1 }),
});

// LRN (onnxruntime takes odd sizes only): explicit coefficients large enough to matter, and the defaults
op('LRN size 3', 'LRN', { x: tensor([2, 5, 2, 2], 'normal', 921) }, { size: 3, alpha: Attr.float(0.5), beta: Attr.float(0.75), bias: Attr.float(1) });
op('LRN size 5 wider than the channels', 'LRN', { x: tensor([1, 3, 2, 3], 'normal', 922) }, { size: 5, alpha: Attr.float(0.8), beta: Attr.float(0.5), bias: Attr.float(2) });
op('LRN defaults (alpha 1e-4)', 'LRN', { x: tensor([1, 3, 2, 2], 'normal', 923) }, { size: 3 });

// TopK's values: largest and smallest, along the last and a middle axis (distinct values: no ties)
cases.push({
  name: 'TopK k 2, last axis, largest', opset: 11, inputs: { x: tensor([3, 5], 'distinct', 931) },
  build: (b, x) => b.opN('TopK', [x.x, i64(b, [2])], 2, { axis: -1 })[0],
});
cases.push({
  name: 'TopK k 3, axis 1, smallest, unsorted', opset: 11, inputs: { x: tensor([2, 4, 3], 'distinct', 932) },
  build: (b, x) => b.opN('TopK', [x.x, i64(b, [3])], 2, { axis: 1, largest: 0, sorted: 0 })[0],
});
cases.push({
  name: 'TopK opset 10, k 1', opset: 10, inputs: { x: tensor([4, 3], 'distinct', 933) },
  build: (b, x) => b.opN('TopK', [x.x, i64(b, [1])], 2, {})[0],
});

export default cases;
