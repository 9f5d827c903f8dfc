/**
 * Lowered ops (grad/lower): each case builds one LSTM, GRU or RNN node over
 * an attribute combination, lowers it, and checks
 *  1. the lowered forward against onnxruntime's own kernel (float32, to
 *     1e-5 of the output's scale: the same sums in another order), and
 *  2. the float32 gradient of the lowered graph against float64 central
 *     finite differences of the ORIGINAL node (fd.ts), to FD_TOLERANCE.
 * The output differentiated is Y, Y_h and Y_c concatenated, so a wrong final
 * state (sequence_lens, reverse direction) fails as surely as a wrong step.
 */
import { DataType, lowerModel, probeShapes, type ModelProto, type ShapeTable } from '@onnx-explain/core';
import { runtime, checkGradients, weighted, FD_TOLERANCE } from './fd';
import { recurrentCases as cases, recurrentCaseModel as caseModel } from './recurrentCases';
import { evaluate64, type T64 } from './reference64';

describe.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
  test('lowered forward equals the float64 reference and onnxruntime; its gradient equals float64 finite differences of the original', async () => {
    const { model, inputs } = caseModel(c, 7 + 31 * i);
    // onnxruntime refuses layout 1 (batch-major) recurrent ops, so those cases cannot be probed:
    // the lowering reads only the inputs' shapes (the weights are constants)
    const shapes: ShapeTable =
      c.layout === 1
        ? new Map(Object.entries(inputs).map(([k, t]) => [k, { dims: [...t.dims], type: DataType.FLOAT }]))
        : await probeShapes(runtime, model, inputs, []);
    const lowered = lowerModel(model, shapes);
    expect(lowered.refused).toEqual([]);
    expect(lowered.lowered).toHaveLength(1);
    expect(lowered.model.graph!.node!.some((n) => n.opType === c.op)).toBe(false);
    const run = async (m: ModelProto) => {
      const s = await runtime.createSession(m);
      const out = await s.run(inputs);
      await s.release();
      return Object.values(out)[0];
    };
    const feeds64: Record<string, T64> = {};
    for (const [k, t] of Object.entries(inputs)) feeds64[k] = { dims: [...t.dims], data: Float64Array.from(t.data as Float32Array) };
    const ref = Object.values(evaluate64(model, feeds64))[0].data;
    const scale = Math.max(...Array.from(ref, Math.abs));
    expect(scale).toBeGreaterThan(0.05);
    const offBy = (y: ArrayLike<number>) => Math.max(...Array.from(ref, (v, k) => Math.abs(v - y[k])));
    const lowered32 = await run(lowered.model);
    expect(lowered32.data.length).toBe(ref.length);
    expect(offBy(lowered32.data as Float32Array)).toBeLessThan(1e-5 * scale);
    // the float64 reference is itself checked against onnxruntime's kernel, where it has one (not for layout 1)
    if (c.layout !== 1) expect(offBy((await run(model)).data as Float32Array)).toBeLessThan(1e-5 * scale);
    const a = lowered32;
    const wrt = Object.keys(inputs);
    const res = await checkGradients(weighted(model, a.dims as number[]), inputs, wrt, undefined, weighted(lowered.model, a.dims as number[]));
    for (const w of wrt) expect(res.relErr[w]).toBeLessThan(FD_TOLERANCE);
  });
});
