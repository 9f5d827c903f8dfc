/**
 * Every gradient rule against float64 central finite differences, over the
 * attribute combinations in cases.ts (explicit values and every default the
 * rules read). The gradient under test is the float32 gradient model's; the
 * oracle evaluates the forward model in double precision, by onnxruntime on
 * its float64 copy or by the reference evaluators of reference64.ts (checked
 * in reference64.test.ts), with step FD_STEP = 1e-5 (scaled for small
 * inputs). Each input's gradient must agree to a relative L2 error below
 * FD_TOLERANCE = 2e-6 (the worst case measures 2.8e-7); see fd.ts for how
 * both were chosen.
 * GRAD_REPORT=1 prints every case's error, its oracle path, and the worst.
 */
import { lowerModel, probeShapes } from '@onnx-explain/core';
import { runtime, checkGradients, weighted, FD_TOLERANCE } from './fd';
import cases, { caseModel } from './cases';

const report: string[] = [];
const paths: Record<string, number> = {};
let worst = { err: 0, name: '' };
afterAll(() => {
  if (!process.env.GRAD_REPORT) return;
  report.push(`cases per oracle path: ${JSON.stringify(paths)}; worst: ${worst.err.toExponential(2)} (${worst.name})`);
  process.stderr.write(report.join('\n') + '\n');
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('graph gradient matches float64 finite differences', async () => {
    const model = caseModel(c);
    const s = await runtime.createSession(model);
    const out = await s.run(c.inputs);
    await s.release();
    const dims = Object.values(out)[0].dims;
    // an op without a rule (RotaryEmbedding) is differentiated through its lowering, as the engine does
    const w = weighted(model, dims);
    const low = lowerModel(w, await probeShapes(runtime, w, c.inputs, []));
    const res = await checkGradients(w, c.inputs, c.wrt ?? Object.keys(c.inputs), c.h, low.lowered.length ? low.model : undefined);
    paths[res.path] = (paths[res.path] ?? 0) + 1;
    for (const [w, err] of Object.entries(res.relErr)) {
      report.push(`${c.name.padEnd(64)} ${res.path.padEnd(20)} d/d${w}: ${err.toExponential(2)}`);
      if (err > worst.err) worst = { err, name: `${c.name} d/d${w}` };
      expect(err).toBeLessThan(FD_TOLERANCE);
    }
  });
});
