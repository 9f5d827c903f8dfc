/** Grad-CAM (Selvaraju et al. 2017) at a convolution output. */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions } from './explainer';
import { asFloat32 } from './tensors';
import { gradientsAt, resultBase, type AttributionResult } from './common';
import { upsampleBilinear } from './upsample';

export interface GradCamOptions extends CommonOptions {
  /** The convolution output to explain at, shaped [N, C, H, W]. */
  layer: string;
  /** Size to upsample the map to (default: the spatial size of the first attributed input). */
  size?: [number, number];
}

export interface GradCamResult extends AttributionResult {
  /** ReLU(sum_c weight_c * A_c) at the layer's resolution, [N, H, W]. */
  cam: Tensor;
  /** The same, bilinearly upsampled to the input's spatial size, [N, H_in, W_in]. */
  heatmap: Tensor;
  /** Channel weights (mean gradient over the layer's spatial axes), [N, C]. */
  weights: Tensor;
}

/** Grad-CAM (Selvaraju et al. 2017) at a convolution output. */
export async function gradCam(explainer: Explainer, inputs: Record<string, Tensor>, opts: GradCamOptions): Promise<GradCamResult> {
  const layerOpts = { ...opts, at: opts.layer };
  const { engine, feeds, run, classes, batch } = await gradientsAt(explainer, inputs, layerOpts, 'grad-cam');
  const a = feeds[opts.layer];
  if (a.dims.length !== 4) throw new Error(`Grad-CAM needs a layer shaped [N, C, H, W]; '${opts.layer}' has shape [${a.dims.join(', ')}]`);
  const [, c, h, w] = a.dims;
  const g = run.grads[opts.layer];
  const act = asFloat32(a);
  const weights = new Float32Array(batch * c);
  const cam = new Float32Array(batch * h * w);
  for (let n = 0; n < batch; n++) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = 0; i < h * w; i++) s += g[(n * c + k) * h * w + i];
      weights[n * c + k] = s / (h * w);
    }
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += weights[n * c + k] * act[(n * c + k) * h * w + i];
      cam[n * h * w + i] = Math.max(0, s);
    }
  }
  const firstInput = explainer.floatInputs()[0];
  const size = opts.size ?? (firstInput ? (inputs[firstInput].dims.slice(-2) as [number, number]) : [h, w]);
  const heatmap = upsampleBilinear({ type: 'float32', dims: [batch, h, w], data: cam }, size);
  const attributions = { [opts.layer]: { type: 'float32' as const, dims: [batch, h, w], data: cam } };
  const res = resultBase('grad-cam', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
  delete res.positionScores;
  return { ...res, cam: attributions[opts.layer], heatmap, weights: { type: 'float32', dims: [batch, c], data: weights } };
}

