/**
 * `onnx-explain evaluate` and `compare` as a user runs them: the JSON equals
 * the library's metrics on the same model, inputs and options; the plot is
 * written; bad options are one line each.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { NodeExplainer, readInputFile, toTensor } from '@onnx-explain/node';
import { infidelity, deletionCurve, agreement } from '@onnx-explain/core';
import { repoRoot, tmpDir } from './helpers/ort';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const dir = tmpDir('cli-evaluate');
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('evaluate: infidelity and the deletion curve in the JSON equal the library; every metric reported; the curves plotted', async () => {
  const json = path.join(dir, 'eval.json');
  const plot = path.join(dir, 'curves.png');
  const r = cli('evaluate', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_7.npy', '--metrics', 'infidelity,deletion,insertion,road,completeness,sanity', '--feature-mask', 'grid:4x4', '--steps', '32', '--seed', '3', '--json', json, '--plot', plot);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  for (const label of ['infidelity', 'road       AUC', 'deletion   AUC', 'insertion  AUC', 'complete   delta', 'IG steps   4: ', 'sanity     3 layers randomised']) expect(r.out).toContain(label);
  const got = JSON.parse(fs.readFileSync(json, 'utf8'));
  const ex = await NodeExplainer.load(path.join(repoRoot, 'models/digits_cnn.onnx'), { device: 'cpu' });
  const x = { image: toTensor(await readInputFile(path.join(repoRoot, 'models/samples/digit_7.npy'))) };
  const ig = await ex.explain(x, { method: 'ig', steps: 32 });
  const inf = await infidelity(ex.explainer, x, ig.attributions, { target: ig.classes, seed: 3 });
  const del = await deletionCurve(ex.explainer, x, ig.attributions, { target: ig.classes, featureMask: 'grid:4x4' });
  await ex.release();
  expect(got.infidelity.infidelity[0]).toBeCloseTo(inf.infidelity[0], 6);
  got.deletion.values[0].forEach((v: number, k: number) => expect(v).toBeCloseTo(del.values[0][k], 4));
  expect(got.sanity.rows).toHaveLength(3);
  expect(PNG.sync.read(fs.readFileSync(plot)).width).toBe(420);
});

test('compare: two methods on one model, the measures as agreement() computes them', async () => {
  const json = path.join(dir, 'cmp.json');
  const r = cli('compare', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--other-method', 'input-x-gradient', '--top-k', '5', '--json', json);
  expect(r.err).toBe('');
  expect(r.out).toMatch(/^example 0 {2}'features': Spearman -?\d\.\d{4} \(of magnitudes -?\d\.\d{4}\), top-5 overlap \d+\.\d%, relative L2 /m);
  const got = JSON.parse(fs.readFileSync(json, 'utf8'));
  const ex = await NodeExplainer.load(path.join(repoRoot, 'models/tabular_mlp.onnx'), { device: 'cpu' });
  const x = { features: toTensor(await readInputFile(path.join(repoRoot, 'models/samples/patient_0.npy'))) };
  const a = await ex.explain(x, { method: 'ig' });
  const b = await ex.explain(x, { method: 'input-x-gradient', target: a.classes });
  await ex.release();
  const want = agreement(b.attributions.features.data as Float32Array, a.attributions.features.data as Float32Array, 5);
  expect(got.rows[0].spearman).toBeCloseTo(want.spearman, 6);
  expect(got.rows[0].topK).toBe(want.topK);
  expect(got.rows[0].relativeL2).toBeCloseTo(want.relativeL2, 5);
});

test('compare --float16: IG on the float16 copy against the model', () => {
  const r = cli('compare', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--float16', '--steps', '16');
  expect(r.err).toBe('');
  expect(r.out).toMatch(/^second {5}models\/digits_cnn\.onnx \(float16 copy\): integrated-gradients$/m);
  const m = /Spearman (-?\d\.\d{4}) .* relative L2 (\S+), SSIM (\d\.\d{4})/.exec(r.out)!;
  expect(Number(m[1])).toBeGreaterThan(0.99);
  expect(Number(m[2])).toBeLessThan(2e-2);
});

test.each([
  [['evaluate', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_7.npy', '--metrics', 'infidelity,roc'], /--metrics takes a list of infidelity, sensitivity, deletion, insertion, road, completeness, sanity; 'roc' is not one/],
  [['evaluate', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_7.npy', '--metrics', 'infidelity', '--plot', 'x.png'], /--plot draws the removal curves: add deletion, insertion or road to --metrics/],
  [['evaluate', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_7.npy', '--samples', '0'], /--samples must be a whole number from 1/],
  [['compare', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_7.npy'], /compare needs a second model \(--other MODEL or --float16\) or a second method \(--other-method\)/],
])('%j is refused in a line', (args, message) => {
  const r = cli(...(args as string[]));
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(message);
  expect(r.err.trim().split('\n')).toHaveLength(1);
});
