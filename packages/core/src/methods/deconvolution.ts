/**
 * Deconvolution (Zeiler & Fergus 2014), as Captum 0.8's Deconvolution: the
 * gradient at the input with ReLU's backward rule changed to a ReLU of the
 * incoming gradient, whatever the input's sign (grad/ruleSets.ts). Needs
 * graph gradients.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from './explainer';
import { gradientsAt, resultBase, type AttributionResult } from './common';

export async function deconvolution(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'deconvolution', 'deconvolution');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: run.grads[w] };
  return resultBase('deconvolution', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}
