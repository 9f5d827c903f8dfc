/**
 * The library API a Node service embeds: load a model once, then explain
 * many inputs. Sessions are made on first use and kept; calls may run
 * concurrently.
 *
 *   const ex = await NodeExplainer.load('model.onnx');           // CUDA if it works here, else CPU
 *   const r = await ex.explain({ image }, { method: 'ig', steps: 50, onProgress, signal });
 *   r.attributions.image.data; r.delta; r.classes
 */
import {
  Explainer,
  integratedGradients,
  saliency,
  inputXGradient,
  noiseTunnel,
  gradientShap,
  gradCam,
  type ModelProto,
  type Tensor,
  type AttributionResult,
  type IntegratedGradientsOptions,
  type NoiseTunnelOptions,
  type GradientShapOptions,
  type ModelSummary,
} from '@onnx-explain/core';
import { loadModelFile } from './modelFile';
import { resolveDevice, type Device } from './runtime';
import type { NdArray } from '@onnx-explain/core';

export const METHODS = ['ig', 'saliency', 'input-x-gradient', 'smoothgrad', 'gradient-shap', 'grad-cam'] as const;
export type MethodName = (typeof METHODS)[number];

export type ExplainOptions = IntegratedGradientsOptions &
  Omit<NoiseTunnelOptions, 'baselines'> &
  Omit<GradientShapOptions, 'baselines'> & {
    method?: MethodName;
    /** Grad-CAM's convolution layer (an intermediate tensor name). */
    layer?: string;
  };

export type ExplainResult = AttributionResult & {
  delta?: number[];
  baselineOutputs?: number[];
  steps?: number;
  integration?: string;
  heatmap?: Tensor;
};

export interface LoadExplainerOptions {
  device?: Device;
  intraOpNumThreads?: number;
}

export function toTensor(a: NdArray | Tensor): Tensor {
  if ('dims' in a) return a;
  return { type: a.dtype as Tensor['type'], dims: a.shape, data: a.data };
}

export class NodeExplainer {
  private constructor(
    readonly explainer: Explainer,
    readonly device: 'cpu' | 'cuda',
    /** Set when the device was 'auto' and CUDA could not be used. */
    readonly notice: string | undefined,
  ) {}

  static async load(model: string | ModelProto, opts: LoadExplainerOptions = {}): Promise<NodeExplainer> {
    const proto = typeof model === 'string' ? (await loadModelFile(model)).model : model;
    const d = await resolveDevice(opts.device ?? 'auto', { intraOpNumThreads: opts.intraOpNumThreads });
    return new NodeExplainer(new Explainer(d.runtime, proto), d.device, d.notice);
  }

  get summary(): ModelSummary {
    return this.explainer.summary;
  }

  async explain(inputs: Record<string, NdArray | Tensor>, opts: ExplainOptions = {}): Promise<ExplainResult> {
    const x: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) x[k] = toTensor(v);
    const method = opts.method ?? 'ig';
    switch (method) {
      case 'ig':
        return integratedGradients(this.explainer, x, opts);
      case 'saliency':
        return saliency(this.explainer, x, opts);
      case 'input-x-gradient':
        return inputXGradient(this.explainer, x, opts);
      case 'smoothgrad':
        return noiseTunnel(this.explainer, x, opts);
      case 'gradient-shap':
        return gradientShap(this.explainer, x, opts as GradientShapOptions);
      case 'grad-cam': {
        if (!opts.layer) throw new Error('grad-cam needs a convolution layer: name its output tensor with --at (layer) ');
        return gradCam(this.explainer, x, { ...opts, layer: opts.layer });
      }
      default:
        throw new Error(`unknown method '${method as string}'; use one of ${METHODS.join(', ')}`);
    }
  }

  release(): Promise<void> {
    return this.explainer.release();
  }
}
