/**
 * float64Copy: what becomes double and what stays float. Resize's and
 * Upsample's scales and Resize's roi are tensor(float) whatever X's type;
 * onnxruntime-node has no double Resize or Upsample kernel (those cases go to
 * reference64), so these are checked on the model's structure, and the rest
 * by running the copy.
 */
import { Attr, DataType, GraphBuilder, makeModel, tensorToArray, type ModelProto } from '@onnx-explain/core';
import { float64Copy } from './float64';
import { runtime } from './fd';

const initType = (m: ModelProto, name: string) => m.graph!.initializer!.find((t) => t.name === name)?.dataType;
const inputType = (m: ModelProto, name: string) => m.graph!.input!.find((v) => v.name === name)?.type?.tensorType?.elemType;

test('Resize keeps float roi and scales, and X becomes double', () => {
  for (const opset of [10, 11, 13]) {
    const b = new GraphBuilder('r');
    const x = b.input('x', DataType.FLOAT, [1, 1, 2, 2]);
    const roi = b.constant(new Float32Array(0), [0], { name: 'roi' });
    const scales = b.constant(Float32Array.from([1, 1, 2, 2]), [4], { name: 'scales' });
    b.output(b.op('Resize', opset === 10 ? [x, scales] : [x, roi, scales]), DataType.FLOAT);
    const m = float64Copy(makeModel(b.build(), { opset }));
    expect(inputType(m, 'x')).toBe(DataType.DOUBLE);
    expect(m.graph!.output![0].type!.tensorType!.elemType).toBe(DataType.DOUBLE);
    expect(initType(m, 'scales')).toBe(DataType.FLOAT);
    if (opset > 10) expect(initType(m, 'roi')).toBe(DataType.FLOAT);
    expect(m.graph!.node!.map((n) => n.opType)).toEqual(['Resize']);
  }
});

test('Upsample-9 keeps float scales', () => {
  const b = new GraphBuilder('u');
  const x = b.input('x', DataType.FLOAT, [1, 1, 2, 2]);
  b.output(b.op('Upsample', [x, b.constant(Float32Array.from([1, 1, 2, 2]), [4], { name: 'scales' })]), DataType.FLOAT);
  const m = float64Copy(makeModel(b.build(), { opset: 9 }));
  expect(initType(m, 'scales')).toBe(DataType.FLOAT);
  expect(inputType(m, 'x')).toBe(DataType.DOUBLE);
});

test('scales shared with a data input, or made by a Constant, get a Cast to float', () => {
  const b = new GraphBuilder('r');
  const x = b.input('x', DataType.FLOAT, [4]);
  const shared = b.constant(Float32Array.from([1, 1, 2, 2]), [4], { name: 'shared' });
  const fromConst = b.op('Constant', [], { value_floats: Attr.floats([1, 1, 3, 3]) });
  const y = b.op('Mul', [x, shared]);
  const r1 = b.op('Resize', [b.op('Reshape', [y, b.constant(BigInt64Array.from([1n, 1n, 2n, 2n]), [4])]), '', shared]);
  const r2 = b.op('Resize', [r1, '', fromConst]);
  b.output(r2, DataType.FLOAT);
  const m = float64Copy(makeModel(b.build(), { opset: 13 }));
  expect(initType(m, 'shared')).toBe(DataType.DOUBLE); // Mul reads it as T
  const resizes = m.graph!.node!.filter((n) => n.opType === 'Resize');
  for (const r of resizes) {
    const cast = m.graph!.node!.find((n) => n.output![0] === r.input![2])!;
    expect(cast.opType).toBe('Cast');
    expect(Number(cast.attribute![0].i)).toBe(DataType.FLOAT);
  }
  const constant = m.graph!.node!.find((n) => n.opType === 'Constant')!;
  expect(constant.attribute![0].t!.dataType).toBe(DataType.DOUBLE);
  expect(constant.attribute![0].t!.dims).toEqual([4]);
});

test('Constant value_float stays a scalar, value_floats a vector; the copy computes the same function', async () => {
  const b = new GraphBuilder('c');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const s = b.op('Constant', [], { value_float: 0.7 });
  const v = b.op('Constant', [], { value_floats: Attr.floats([1, 2, 3]) });
  const y = b.op('Add', [b.op('Mul', [x, s]), b.op('Cast', [v], { to: DataType.FLOAT })]);
  b.output(y, DataType.FLOAT);
  const model = makeModel(b.build(), { opset: 13 });
  const m = float64Copy(model);
  const consts = m.graph!.node!.filter((n) => n.opType === 'Constant').map((n) => n.attribute![0].t!);
  expect(consts.map((t) => t.dims)).toEqual([[], [3]]);
  expect(Array.from(tensorToArray(consts[0]) as Float64Array)).toEqual([Math.fround(0.7)]);
  const xs = Float32Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
  const s32 = await runtime.createSession(model);
  const s64 = await runtime.createSession(m);
  const y32 = Object.values(await s32.run({ x: { type: 'float32', dims: [2, 3], data: xs } }))[0];
  const y64 = Object.values(await s64.run({ x: { type: 'float64', dims: [2, 3], data: Float64Array.from(xs) } }))[0];
  await s32.release();
  await s64.release();
  expect(y64.type).toBe('float64');
  expect(y64.dims).toEqual([2, 3]);
  (y32.data as Float32Array).forEach((v32, i) => expect(Math.abs((y64.data as Float64Array)[i] - v32)).toBeLessThan(1e-6));
});
