/**
 * Guided Grad-CAM (Selvaraju et al. 2017), as Captum 0.8's GuidedGradCam:
 * Guided Backprop's attributions times the Grad-CAM map of a convolution
 * layer, upsampled to the input by nearest neighbour (Captum's default
 * interpolate_mode) and broadcast over the input's channels.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from './explainer';
import type { AttributionResult } from './common';
import { guidedBackprop } from './guidedBackprop';
import { gradCam, type GradCamOptions } from './gradCam';
import { upsampleNearest } from './upsample';
import { asFloat32 } from './tensors';

export async function guidedGradCam(explainer: Explainer, inputs: Record<string, Tensor>, opts: GradCamOptions): Promise<AttributionResult & { heatmap: Tensor }> {
  const cam = await gradCam(explainer, inputs, opts);
  const guided = await guidedBackprop(explainer, inputs, { ...opts, at: undefined });
  const attributions: Record<string, Tensor> = {};
  let heatmap: Tensor | undefined;
  for (const [name, g] of Object.entries(guided.attributions)) {
    if (g.dims.length !== 4) throw new Error(`Guided Grad-CAM multiplies an image's attributions by an upsampled map: input '${name}' has shape [${g.dims.join(', ')}], not [N, C, H, W]`);
    const [n, c, h, w] = g.dims;
    heatmap = upsampleNearest(cam.cam, [h, w]);
    const m = asFloat32(heatmap);
    const gb = asFloat32(g);
    const data = new Float32Array(gb.length);
    for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) data[(b * c + k) * h * w + i] = gb[(b * c + k) * h * w + i] * m[b * h * w + i];
    attributions[name] = { type: 'float32', dims: [...g.dims], data };
  }
  return { ...guided, method: 'guided-grad-cam', attributions, heatmap: heatmap! };
}
