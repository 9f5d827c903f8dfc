/**
 * The closed-form fixture of the method tests: F(x) = sum_k C_k x_k^2 over
 * x [N, 3], whose gradient is 2 C x, so IG, SmoothGrad and GradientSHAP have
 * exact expected values; with two example rows X and small tensor helpers.
 */
import { Explainer, GraphBuilder, DataType, makeModel, type Tensor } from '@onnx-explain/core';
import { runtime } from '../grad/fd';

export const C = [0.5, -2, 3];
export const X = [[1, 2, -1], [0.5, -1, 2]];
export const F = (row: number[]) => row.reduce((s, v, k) => s + C[k] * v * v, 0);

/** y = sum_k C_k x_k^2 over x [N, 3], y [N, 1]. */
export function quadratic(): Explainer {
  const g = new GraphBuilder('quadratic');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const sq = g.op('Mul', [g.op('Mul', [x, x]), g.constant(Float32Array.from(C), [3])]);
  g.output(g.op('ReduceSum', [sq], { axes: [1], keepdims: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  return new Explainer(runtime, makeModel(g.build(), { opset: 11 }));
}

export const f32 = (dims: number[], values: number[]): Tensor => ({ type: 'float32', dims, data: Float32Array.from(values) });
export const flat = (t: Tensor) => Array.from(t.data as Float32Array);
export function expectClose(got: number[], want: number[], digits: number) {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i], digits));
}
