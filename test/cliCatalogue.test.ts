/**
 * The CLI's bad-input catalogue: every numeric or choice option of
 * `attribute` with values out of range, of the wrong type and NaN. Each is
 * refused before any work: a non-zero exit, at most two lines on stderr that
 * name the option, no stack trace, and no NaN on stdout.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './helpers/ort';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const base = ['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--quiet', '--device', 'cpu'];

const catalogue: [string, string[], string[]][] = [
  ['--steps', ['0', '-3', '2.5', 'NaN', 'many', '100001'], []],
  ['--tolerance', ['0', '1', '-0.1', 'NaN', 'tight'], ['--steps', 'auto']],
  ['--batch-size', ['0', '-1', '1.5', '1e9', 'NaN', 'big'], []],
  ['--samples', ['0', '-3', '2.5', 'NaN', 'lots'], ['--method', 'smoothgrad']],
  ['--stdev', ['-1', 'NaN', 'Infinity', 'wide'], ['--method', 'smoothgrad']],
  ['--max-evaluations', ['0', '-5', '1.5', 'NaN'], ['--gradients', 'fd']],
  ['--target', ['-1', '30', '1.5', 'NaN', '0,0', 'top'], []],
  ['--method', ['shap', ''], []],
  ['--integration', ['simpson'], []],
  ['--gradients', ['numeric'], []],
  ['--device', ['tpu'], []],
  ['--output-name', ['nope'], []],
  ['--at', ['no_such_tensor'], []],
  ['--labels', ['missing.txt'], []],
];
const cases = catalogue.flatMap(([flag, values, extra]) => values.map((v): [string, string, string[]] => [flag, v, extra]));

test.each(cases)('%s %j is refused in a line or two, before any work', (flag, value, extra) => {
  const r = spawnSync(process.execPath, [bin, ...base, ...extra, flag, value], { cwd: repoRoot, encoding: 'utf8', timeout: 10000 });
  expect(r.error).toBeUndefined(); // finished within 10 s
  expect([r.status === 1 || r.status === 2, r.stderr]).toEqual([true, expect.stringMatching(/^onnx-explain: /)]);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).not.toMatch(/NaN/);
  // the message names what was wrong: the option, or the value given
  const named = flag.replace(/^--/, '');
  expect(r.stderr.includes(named) || (value !== '' && r.stderr.includes(value)) || /target|output|class/.test(r.stderr)).toBe(true);
});

test("attribute --help states the defaults as they are: rows per run sized to the model, not 64", () => {
  const r = spawnSync(process.execPath, [bin, 'attribute', '--help'], { cwd: repoRoot, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout.replace(/\s+/g, ' ')).toContain("--batch-size rows per session run (interpolation points); bounds memory (default: sized to the model's activations, 1 to 64)");
  expect(r.stdout).not.toMatch(/default 64\)/);
});
