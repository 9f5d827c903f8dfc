/**
 * Integrated Gradients against PyTorch: the same models, inputs, targets,
 * quadrature points and weights, computed with autograd in float64
 * (models/make_grad_refs.py). Every integration method, every reference
 * model; text models at their embedding output (layer IG). The LSTM has no
 * gradient rule: its gradients come by graph through its lowering to
 * standard ops.
 */
import { Explainer, integratedGradients, INTEGRATION_METHODS, type IntegratedGradientsResult } from '@onnx-explain/core';
import { runtime, relL2 } from '../grad/fd';
import { loadRefs } from './refs';

const refs = loadRefs();
const explainers = new Map(refs.map((r) => [r.name, new Explainer(runtime, r.model)]));
afterAll(async () => {
  for (const e of explainers.values()) await e.release();
});

describe.each(refs.map((r) => [r.name, r] as const))('%s', (name, ref) => {
  const ex = () => explainers.get(name)!;
  const opts = () => ({ target: ref.targets, steps: ref.igSteps, ...(ref.layer ? { at: ref.at } : {}) });

  test.each(INTEGRATION_METHODS)('%s matches PyTorch IG', async (method) => {
    const r = await integratedGradients(ex(), { [ref.input]: ref.x }, { ...opts(), integration: method });
    const attr = r.attributions[ref.at].data as Float32Array;
    expect(relL2(attr, ref.ig[method])).toBeLessThan(1e-3);
    expect(r.classes).toEqual(ref.targets);
    r.outputs.forEach((v, i) => expect(v).toBeCloseTo(ref.logits[i * (ref.logits.length / ref.targets.length) + ref.targets[i]], 4));
    expect(r.gradientSource).toBe('graph');
    expect(r.lowered).toEqual(name === 'lstm_text' ? ['LSTM (/lstm/LSTM)'] : undefined);
  });
});

describe('completeness at 50 Gauss-Legendre steps', () => {
  // smooth models: tanh, GELU, softmax, LSTM gates (ReLU nets have kinks along the path)
  test.each(['models/text_classifier', 'encoder_layernorm_fused', 'encoder_layernorm_decomposed', 'lstm_text'])('%s: |delta| < 1%% of |F(x) - F(baseline)|', async (name) => {
    const ref = refs.find((r) => r.name === name)!;
    const r: IntegratedGradientsResult = await integratedGradients(explainers.get(name)!, { [ref.input]: ref.x }, { target: ref.targets, at: ref.at });
    expect(r.steps).toBe(50);
    expect(r.integration).toBe('gausslegendre');
    r.delta.forEach((d, i) => {
      const gap = Math.abs(r.outputs[i] - r.baselineOutputs[i]);
      expect(gap).toBeGreaterThan(1e-3);
      expect(Math.abs(d)).toBeLessThan(0.01 * gap);
    });
  });
});
