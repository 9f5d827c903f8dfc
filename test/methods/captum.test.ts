/**
 * Every gradient method's values against an independent oracle, on the
 * shipped models (models/make_method_refs.py, float64):
 * - Captum 0.8 itself for Integrated Gradients from non-zero and random
 *   baselines (three quadrature rules), layer IG at the text model's
 *   embedding from <unk> tokens, Saliency (absolute and signed), Input x
 *   Gradient and Grad-CAM (its map, the upsampled map and the channel weights);
 * - the methods' definitions over Captum's per-sample attributions, with
 *   onnx-explain's own noise stream fed in, for the noise tunnel variants
 *   (smoothgrad, smoothgrad_sq, vargrad over saliency, input x gradient, IG),
 *   and over autograd with the same baseline rows and alphas for GradientSHAP.
 * Attributions agree to a relative L2 error below 5e-6 (float32 against
 * float64; the worst case is about 3e-7); completeness deltas to 5e-6 of
 * the explained gap.
 */
import {
  integratedGradients,
  saliency,
  inputXGradient,
  noiseTunnel,
  gradientShap,
  gradCam,
  type Tensor,
  type Baseline,
} from '@onnx-explain/core';
import { relL2 } from '../grad/fd';
import { refs, toTensor, shippedExplainers, type Case } from './refs';

function baselines(b: Case['options']['baselines']): Baseline | undefined {
  if (b === undefined || typeof b === 'number') return b;
  if ('tensor' in b) return toTensor(b.tensor);
  return { inputs: Object.fromEntries(Object.entries(b.inputs).map(([k, v]) => [k, toTensor(v)])) };
}

const TOLERANCE = 5e-6;
const { explainer, errors } = shippedExplainers();

function expectClose(name: string, got: ArrayLike<number>, want: number[]) {
  expect(got.length).toBe(want.length);
  const err = relL2(got, want);
  errors.push(`${name.padEnd(70)} ${err.toExponential(2)}`);
  expect(err).toBeLessThan(TOLERANCE);
}

test('the references come from Captum 0.8', () => {
  expect(refs.captum).toBe('0.8.0');
  expect(refs.cases.length).toBeGreaterThanOrEqual(20);
});

describe.each(refs.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('agrees with the reference', async () => {
    const ex = explainer(c.model);
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)]));
    const opts = { ...c.options, baselines: baselines(c.options.baselines) } as never;
    const attr = (r: { attributions: Record<string, Tensor> }, k: string) => r.attributions[k].data as Float32Array;
    switch (c.method) {
      case 'ig': {
        const r = await integratedGradients(ex, inputs, opts);
        for (const [k, want] of Object.entries(c.expected)) expectClose(`${c.name} ${k}`, attr(r, k), want.data);
        expect(r.classes).toEqual(c.options.target);
        // Captum's convergence delta: sum(attr) - (F(x) - F(baseline)), the same definition
        r.delta.forEach((d, i) => expect(Math.abs(d - c.delta![i])).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(r.outputs[i] - r.baselineOutputs[i]))));
        break;
      }
      case 'saliency':
      case 'input-x-gradient': {
        const r = await (c.method === 'saliency' ? saliency : inputXGradient)(ex, inputs, opts);
        for (const [k, want] of Object.entries(c.expected)) expectClose(`${c.name} ${k}`, attr(r, k), want.data);
        break;
      }
      case 'grad-cam': {
        const r = await gradCam(ex, inputs, opts);
        expectClose(`${c.name} cam`, r.cam.data as Float32Array, c.expected.cam.data);
        expect(r.cam.dims).toEqual(c.expected.cam.shape);
        expectClose(`${c.name} heatmap`, r.heatmap.data as Float32Array, c.expected.heatmap.data);
        expect(r.heatmap.dims).toEqual(c.expected.heatmap.shape);
        expectClose(`${c.name} weights`, r.weights.data as Float32Array, c.expected.weights.data);
        break;
      }
      case 'noise-tunnel': {
        const r = await noiseTunnel(ex, inputs, opts);
        for (const [k, want] of Object.entries(c.expected)) expectClose(`${c.name} ${k}`, attr(r, k), want.data);
        break;
      }
      case 'gradient-shap': {
        const r = await gradientShap(ex, inputs, opts);
        for (const [k, want] of Object.entries(c.expected)) expectClose(`${c.name} ${k}`, attr(r, k), want.data);
        r.delta.forEach((d, i) => expect(Math.abs(d - c.delta![i])).toBeLessThan(TOLERANCE * Math.max(1, Math.abs(r.outputs[i]))));
        break;
      }
      default:
        throw new Error(`unknown method ${c.method}`);
    }
  });
});
