/**
 * One entry point over the methods by name, for front ends (the CLI, the
 * Node library, the dashboard) that let the user pick one.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from './explainer';
import { integratedGradients, type AttributionResult, type IntegratedGradientsOptions, type IntegratedGradientsResult } from './integratedGradients';
import { saliency, inputXGradient, noiseTunnel, gradientShap, gradCam, type NoiseTunnelOptions, type GradientShapOptions, type GradCamResult } from './gradientMethods';

export const METHODS = ['ig', 'saliency', 'input-x-gradient', 'smoothgrad', 'gradient-shap', 'grad-cam'] as const;
export type MethodName = (typeof METHODS)[number];

export type ExplainOptions = IntegratedGradientsOptions &
  Omit<NoiseTunnelOptions, 'baselines'> &
  Omit<GradientShapOptions, 'baselines'> & {
    method?: MethodName;
    /** Grad-CAM's convolution layer (an intermediate tensor name). */
    layer?: string;
  };

export type ExplainResult = AttributionResult & Partial<Pick<IntegratedGradientsResult, 'delta' | 'baselineOutputs' | 'steps' | 'integration' | 'adaptive'>> & Partial<Pick<GradCamResult, 'heatmap'>>;

export async function explainWith(explainer: Explainer, inputs: Record<string, Tensor>, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const method = opts.method ?? 'ig';
  switch (method) {
    case 'ig':
      return integratedGradients(explainer, inputs, opts);
    case 'saliency':
      return saliency(explainer, inputs, opts);
    case 'input-x-gradient':
      return inputXGradient(explainer, inputs, opts);
    case 'smoothgrad':
      return noiseTunnel(explainer, inputs, opts);
    case 'gradient-shap':
      return gradientShap(explainer, inputs, opts as GradientShapOptions);
    case 'grad-cam':
      if (!opts.layer) throw new Error('grad-cam needs a convolution layer: name its output tensor (--at on the command line)');
      return gradCam(explainer, inputs, { ...opts, layer: opts.layer });
    default:
      throw new Error(`unknown method '${method as string}'; use one of ${METHODS.join(', ')}`);
  }
}
