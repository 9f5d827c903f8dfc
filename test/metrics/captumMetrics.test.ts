/**
 * Infidelity and sensitivity-max against Captum 0.8's own captum.metrics on
 * the shipped models (models/make_metric_refs.py: the models rebuilt in
 * PyTorch from their .onnx weights, float64, the perturbations fed to both
 * sides, Captum's IntegratedGradients as the explanation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { infidelity, sensitivityMax, type Tensor } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';
import { shippedExplainers } from '../methods/refs';

const refs = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/metrics/metric_refs.json'), 'utf8'));
const tensor = (t: any): Tensor => ({ type: 'float32', dims: t.shape, data: Float32Array.from(t.data) });
const { explainer } = shippedExplainers();
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.each(refs.cases.map((c: any) => [c.name, c]))('%s', (_, c: any) => {
  const inputs = () => ({ [c.input]: tensor(c.x) });

  test.each([
    ['plain', false, 'infidelity'],
    ['normalized', true, 'infidelityNormalized'],
  ])('infidelity (%s) of Captum\'s IG attributions under the same perturbations equals Captum\'s (relative error < 1e-4)', async (_, normalize, key) => {
    const r = await infidelity(explainer(c.model), inputs(), { [c.input]: tensor(c.attributions) }, { target: c.targets, samples: c.samples, perturbations: { [c.input]: tensor(c.perturbations) }, normalize: normalize as boolean });
    expect(r.evaluations).toBe(c.targets.length * (c.samples + 1));
    if (process.env.METHOD_REPORT) process.stderr.write(`${c.name} ${key} ${r.infidelity.map((v, e) => rel(v, c[key as string][e]).toExponential(1)).join(' ')}\n`);
    r.infidelity.forEach((v, e) => expect(rel(v, c[key as string][e])).toBeLessThan(1e-4));
  });

  test('sensitivity-max of IG (zero baseline, 50 Gauss-Legendre steps) under the same noise equals Captum\'s (relative error < 1e-4)', async () => {
    const r = await sensitivityMax(explainer(c.model), inputs(), { method: 'ig', steps: 50, target: c.targets, perturbSamples: c.samples, perturbations: { [c.input]: tensor(c.noise) } });
    if (process.env.METHOD_REPORT) process.stderr.write(`${c.name} sensitivity ${r.sensitivity.map((v, e) => rel(v, c.sensitivity[e]).toExponential(1)).join(' ')}\n`);
    r.sensitivity.forEach((v, e) => expect(rel(v, c.sensitivity[e])).toBeLessThan(1e-4));
  });
});
