/**
 * Guided Backpropagation (Springenberg et al. 2015), as Captum 0.8's
 * GuidedBackprop: the gradient at the input with ReLU's backward rule
 * changed to pass only positive gradients where the input was positive
 * (grad/ruleSets.ts). Signed, like Captum's. Needs graph gradients.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from './explainer';
import { gradientsAt, resultBase, type AttributionResult } from './common';

export async function guidedBackprop(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'guided backprop', 'guided-backprop');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: run.grads[w] };
  return resultBase('guided-backprop', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}
