/**
 * Every method names itself in its result (`method`, what the CLI and the
 * dashboard print) and in the phases of its progress events, as documented:
 * a front end that shows "saliency" must not be handed an empty name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Explainer, decodeModel, saliency, inputXGradient, noiseTunnel, gradientShap, gradCam, integratedGradients, type ProgressEvent } from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';
import { sample } from '../helpers/samples';

const ex = new Explainer(runtime, decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx'))));
afterAll(() => ex.release());
const x = { image: sample('digit_3.npy') };

test.each([
  ['saliency', () => saliency, {}, ['saliency']],
  ['input-x-gradient', () => inputXGradient, {}, ['input x gradient']],
  ['noise-tunnel(saliency, smoothgrad)', () => noiseTunnel, { samples: 2, stdev: 0.1 }, ['noise tunnel']],
  ['noise-tunnel(input-x-gradient, vargrad)', () => noiseTunnel, { samples: 2, stdev: 0.1, base: 'input-x-gradient', type: 'vargrad' }, ['noise tunnel']],
  ['gradient-shap', () => gradientShap, { samples: 2 }, ['gradient shap']],
  ['integrated-gradients', () => integratedGradients, { steps: 4 }, ['integrating']],
  ['grad-cam', () => gradCam, { layer: '/features/features.3/Relu_output_0' }, ['grad-cam']],
] as const)('%s', async (name, method, opts, phases) => {
  const seen = new Set<string>();
  const onProgress = (e: ProgressEvent) => seen.add(e.phase);
  const r = await (method() as (e: Explainer, x: Record<string, unknown>, o: object) => Promise<{ method: string }>)(ex, x, { target: 3, onProgress, ...opts });
  expect(r.method).toBe(name);
  for (const p of phases) expect(seen).toContain(p);
  expect([...seen].every((p) => p.length > 0)).toBe(true);
});
