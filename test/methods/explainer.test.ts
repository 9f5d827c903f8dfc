/**
 * What the explainer decides before any gradient: the top class of each
 * example when no target is given (the arg-max of its own row, the first of
 * equal maxima, as numpy.argmax and torch.argmax pick), and the refusal of a
 * class target on an output whose class count is not declared.
 */
import { Explainer, saliency, integratedGradients, GraphBuilder, DataType, makeModel, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';

const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });

/** y = x W over x [N, 2] with W = [[1, 0, 1], [0, 1, 1]]: y = [x0, x1, x0 + x1]. */
function threeClasses(classes: number | string = 3): Explainer {
  const g = new GraphBuilder('three');
  const x = g.input('x', DataType.FLOAT, ['N', 2]);
  const y = g.op('MatMul', [x, g.constant(Float32Array.from([1, 0, 1, 0, 1, 1]), [2, 3])], {}, { output: 'y' });
  g.output(y, DataType.FLOAT, ['N', classes]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 13 }));
}

test('the top class of each example is the arg-max of its own row, the first of equal maxima', async () => {
  const ex = threeClasses();
  // rows: [3, -1, 2] -> 0; [-1, 2, 1] -> 1; [1, -2, -1] -> 0; [-1, -1, -2] -> 0 (a tie); [0, 2, 2] -> 1 (a tie)
  const r = await saliency(ex, { x: f32([5, 2], [3, -1, -1, 2, 1, -2, -1, -1, 0, 2]) }, { abs: false });
  expect(r.target).toBe('top');
  expect(r.classes).toEqual([0, 1, 0, 0, 1]);
  expect(r.outputs).toEqual([3, 2, 1, -1, 2]);
  await ex.release();
});

test('a class target on an output of undeclared width is checked against the width the model computes', async () => {
  const ex = threeClasses('K');
  await expect(saliency(ex, { x: f32([1, 2], [1, 2]) }, { target: -1 })).rejects.toThrow("target -1 is out of range: output 'y' of shape [N, 3] has 3 classes (0 to 2)");
  await expect(saliency(ex, { x: f32([1, 2], [1, 2]) }, { target: 3 })).rejects.toThrow("target 3 is out of range: output 'y' of shape [N, 3] has 3 classes (0 to 2)");
  const r = await saliency(ex, { x: f32([1, 2], [1, 2]) }, { target: 2, abs: false });
  expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([1, 1]);
  await ex.release();
});

test('per-example targets stay with their examples across session runs; the result says the rows per run and where gradients came from', async () => {
  const ex = threeClasses();
  const x = { x: f32([3, 2], [1, 2, 3, 4, 5, 6]) };
  // d y_c / dx: class 0 -> [1, 0], class 1 -> [0, 1], class 2 -> [1, 1]
  const r = await saliency(ex, x, { target: [2, 0, 1], internalBatchSize: 1, abs: false });
  expect(Array.from(r.attributions.x.data as Float32Array)).toEqual([1, 1, 1, 0, 0, 1]);
  expect(r.outputs).toEqual([3, 3, 6]);
  expect(r.batchSize).toBe(1);
  expect('fdReason' in r).toBe(false);
  const fd = await saliency(ex, x, { target: [2, 0, 1], internalBatchSize: 2, gradients: 'fd', abs: false });
  Array.from(fd.attributions.x.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo([1, 1, 1, 0, 0, 1][i], 3));
  expect(fd.batchSize).toBe(2);
  expect(fd.fdReason).toBe('finite differences were asked for');
  // without internalBatchSize: as many rows as the activations allow, at most 64
  expect((await saliency(ex, x, { target: 0 })).batchSize).toBe(64);
  await ex.release();
});

test('float32 and float64 inputs are attributed by default, integer inputs held fixed; a float64 input is fed as float64 (graph, finite differences, IG)', async () => {
  // y = sum(a * b) * k, a float32 [N, 2], b float64 [N, 2] (cast), k int64 [N, 1] (cast)
  const g = new GraphBuilder('mixed');
  const a = g.input('a', DataType.FLOAT, ['N', 2]);
  const b = g.input('b', DataType.DOUBLE, ['N', 2]);
  const k = g.input('k', DataType.INT64, ['N', 1]);
  const prod = g.op('Mul', [a, g.op('Cast', [b], { to: DataType.FLOAT })]);
  const y = g.op('Mul', [g.op('ReduceSum', [prod], { axes: [1], keepdims: 1 }), g.op('Cast', [k], { to: DataType.FLOAT })], {}, { output: 'y' });
  g.output(y, DataType.FLOAT, ['N', 1]);
  const ex = new Explainer(runtime, makeModel(g.build(), { opset: 11 }));
  expect(ex.floatInputs()).toEqual(['a', 'b']);
  const inputs: Record<string, Tensor> = {
    a: { type: 'float32', dims: [1, 2], data: Float32Array.from([1, 2]) },
    b: { type: 'float64', dims: [1, 2], data: Float64Array.from([3, -4]) },
    k: { type: 'int64', dims: [1, 1], data: BigInt64Array.from([2n]) },
  };
  for (const gradients of ['graph', 'fd'] as const) {
    const r = await saliency(ex, inputs, { target: 0, abs: false, gradients });
    expect(Object.keys(r.attributions)).toEqual(['a', 'b']);
    // dy/da = k b, dy/db = k a
    Array.from(r.attributions.a.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo([6, -8][i], gradients === 'fd' ? 3 : 6));
    Array.from(r.attributions.b.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo([2, 4][i], gradients === 'fd' ? 3 : 6));
    // IG from zeros: F(alpha) = k alpha^2 sum(a b), so attr_a = attr_b = k a b / 2 (exact with 2 Gauss-Legendre points)
    const ig = await integratedGradients(ex, inputs, { target: 0, steps: 2, gradients });
    for (const w of ['a', 'b']) Array.from(ig.attributions[w].data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo([3, -8][i], gradients === 'fd' ? 3 : 5));
    expect(ig.outputs[0]).toBeCloseTo(-10, 5);
  }
  await ex.release();
});
