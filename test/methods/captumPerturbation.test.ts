/**
 * Occlusion and feature ablation against Captum 0.8 itself on the shipped
 * CNN, MLP and text model, and KernelSHAP over every coalition against
 * Captum's exact ShapleyValues (every permutation), all run in float64 on
 * the same weights (models/make_perturbation_refs.py). Relative L2 < 1e-5:
 * our model runs in float32, and a perturbation's output drop is a
 * difference of two float32 outputs.
 */
import { explainWith, type ExplainOptions, type MethodName } from '@onnx-explain/core';
import { relL2 } from '../grad/fd';
import { toTensor, shippedExplainers, loadCases } from './refs';

const refs = loadCases('perturbation_refs.json');

const { explainer, errors } = shippedExplainers();

test('the references come from Captum 0.8 and cover every case asked for', () => {
  expect(refs.captum).toBe('0.8.0');
  expect(refs.cases.map((c) => c.method).sort()).toEqual(['feature-ablation', 'feature-ablation', 'feature-ablation', 'feature-ablation', 'kernel-shap', 'occlusion', 'occlusion', 'occlusion']);
});

test.each(refs.cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
  const o = c.options as Record<string, any>;
  const opts: ExplainOptions = { method: c.method as MethodName, target: o.target, window: o.window, strides: o.strides };
  if (o.baselines !== undefined) opts.baselines = typeof o.baselines === 'number' ? o.baselines : toTensor(o.baselines.tensor);
  if (o.featureMask !== undefined) opts.featureMask = typeof o.featureMask === 'string' ? o.featureMask : toTensor(o.featureMask.tensor);
  const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)]));
  const r = await explainWith(explainer(c.model), inputs, opts);
  expect(r.gradientSource).toBe('none');
  for (const [k, want] of Object.entries(c.expected)) {
    const got = r.attributions[k];
    expect(got.dims).toEqual(want.shape);
    const err = relL2(got.data as Float32Array, want.data);
    errors.push(`${c.name.padEnd(64)} ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  }
});
