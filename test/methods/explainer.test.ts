/**
 * What the explainer decides before any gradient: the top class of each
 * example when no target is given (the arg-max of its own row, the first of
 * equal maxima, as numpy.argmax and torch.argmax pick), and the refusal of a
 * class target on an output whose class count is not declared.
 */
import { Explainer, saliency, GraphBuilder, DataType, makeModel, type Tensor } from '@onnx-explain/core';
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

test('a class target on an output of undeclared width: only the sign and integrality can be checked', async () => {
  const ex = threeClasses('K');
  await expect(saliency(ex, { x: f32([1, 2], [1, 2]) }, { target: -1 })).rejects.toThrow("target -1 is out of range: output 'y' has an unknown number of classes");
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
