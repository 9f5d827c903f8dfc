/** Saliency (Simonyan et al. 2014): the gradient at the input, absolute by default as in Captum. */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions } from './explainer';
import { gradientsAt, resultBase, type AttributionResult } from './common';

export interface SaliencyOptions extends CommonOptions {
  /** Absolute value of the gradient (default true, as in Captum). */
  abs?: boolean;
}

export async function saliency(explainer: Explainer, inputs: Record<string, Tensor>, opts: SaliencyOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'saliency');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const g = run.grads[w];
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: opts.abs === false ? g : g.map(Math.abs) };
  }
  return resultBase('saliency', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}
