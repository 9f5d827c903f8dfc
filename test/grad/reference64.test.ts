/**
 * The float64 oracle's forward functions, checked before they judge any
 * gradient: on every case of cases.ts, the path fd.ts will take (the
 * reference evaluators of reference64.ts, or onnxruntime on the float64 copy
 * of float64.ts) must reproduce onnxruntime's float32 output of the original
 * model to a relative L2 error below 1e-6, with the same shape. float32
 * rounding alone accounts for ~1e-7; a wrong attribute default, coordinate
 * mapping, padding or divisor shows up as 1e-3 or more.
 */
import { runtime, runtime64, relL2 } from './fd';
import { float64Copy } from './float64';
import { erf, evaluate64, oraclePath, REFERENCE_OPS, type T64 } from './reference64';
import cases, { caseModel } from './cases';
import { recurrentCases, recurrentCaseModel } from './recurrentCases';
import type { Tensor } from '@onnx-explain/core';

const REF_TOLERANCE = 1e-6;
const report: string[] = [];
afterAll(() => process.env.GRAD_REPORT && process.stderr.write(report.join('\n') + '\n'));

const to64 = (t: Tensor): T64 => ({ dims: [...t.dims], data: Float64Array.from(t.data as Float32Array) });

describe('erf in double precision', () => {
  // values from CPython's math.erf (within 1 ulp); on a grid over [-5, 5] this erf stays within 8e-16 of it
  const known: [number, number][] = [
    [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [1.5, 0.9661051464753108],
    [2, 0.9953222650189527], [3, 0.9999779095030014], [4, 0.9999999845827421], [5, 0.9999999999984626],
    [-0.7, -0.6778011938374184], [1.9, 0.9927904292352575], [1.99, 0.995111413199617], [2.2, 0.9981371537020182], [0, 0],
  ];
  test.each(known)('erf(%p)', (x, want) => {
    expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(1e-15 * Math.abs(want));
  });
  test('its difference quotients match 2/sqrt(pi) exp(-x^2) to 1e-9', () => {
    for (let x = -4; x <= 4; x += 0.173) {
      const h = 1e-5;
      const fd = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(Math.abs(fd - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x))).toBeLessThan(1e-9);
    }
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('the float64 forward path reproduces onnxruntime float32', async () => {
    const model = caseModel(c);
    const s = await runtime.createSession(model);
    const out32 = Object.values(await s.run(c.inputs))[0];
    await s.release();
    const path = oraclePath(model);
    let out64: { dims: number[]; data: ArrayLike<number> };
    if (path === 'reference64') {
      const feeds: Record<string, T64> = {};
      for (const [k, t] of Object.entries(c.inputs)) feeds[k] = to64(t);
      out64 = Object.values(evaluate64(model, feeds))[0];
    } else {
      const s64 = await runtime64.createSession(float64Copy(model));
      const feeds: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(c.inputs)) feeds[k] = { type: 'float64', dims: t.dims, data: Float64Array.from(t.data as Float32Array) };
      const res = Object.values(await s64.run(feeds))[0];
      await s64.release();
      expect(res.type).toBe('float64');
      out64 = res as never;
    }
    expect(out64.dims).toEqual(out32.dims);
    const err = relL2(out32.data as Float32Array, out64.data);
    report.push(`${c.name.padEnd(60)} ${path.padEnd(20)} ${err.toExponential(2)}`);
    expect(err).toBeLessThan(REF_TOLERANCE);
  });
});

test('every reference op is exercised by some case', () => {
  const used = new Set<string>();
  // the recurrent ops' cases live with the lowering's tests (lower.test.ts), which check the evaluator against onnxruntime
  const models = [...cases.map(caseModel), ...recurrentCases.map((c, i) => recurrentCaseModel(c, i).model)];
  for (const m of models) {
    if (oraclePath(m) === 'reference64') for (const n of m.graph!.node!) used.add(n.opType!);
  }
  expect(Object.keys(REFERENCE_OPS).filter((op) => !used.has(op))).toEqual([]);
});
