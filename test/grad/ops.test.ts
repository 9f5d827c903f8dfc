/**
 * Every gradient rule against central finite differences (see fd.ts for the
 * tolerance), over the attribute combinations in cases.ts.
 */
import { GraphBuilder, DataType, makeModel } from '@onnx-explain/core';
import { checkGradients, weighted, runtime, FD_TOLERANCE } from './fd';
import cases from './cases';

const report: string[] = [];
afterAll(() => process.env.GRAD_REPORT && process.stderr.write(report.join('\n') + '\n'));

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('graph gradient matches finite differences', async () => {
    const b = new GraphBuilder(c.name);
    const names: Record<string, string> = {};
    for (const [k, t] of Object.entries(c.inputs)) names[k] = b.input(k, DataType.FLOAT, t.dims);
    const y = c.build(b, names);
    b.output(y, DataType.FLOAT);
    const model = makeModel(b.build(), { opset: c.opset });
    const s = await runtime.createSession(model);
    const out = await s.run(c.inputs);
    await s.release();
    const dims = Object.values(out)[0].dims;
    const res = await checkGradients(weighted(model, dims), c.inputs, c.wrt ?? Object.keys(c.inputs), c.h);
    for (const [w, err] of Object.entries(res.relErr)) {
      report.push(`${c.name.padEnd(60)} d/d${w}: ${err.toExponential(2)}`);
      expect(err).toBeLessThan(FD_TOLERANCE);
    }
  });
});
