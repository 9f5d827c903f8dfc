/** Input x Gradient: the input times the gradient at it. */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions } from './explainer';
import { asFloat32 } from './tensors';
import { gradientsAt, resultBase, type AttributionResult } from './common';

export async function inputXGradient(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'input x gradient');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const x = asFloat32(feeds[w]);
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: run.grads[w].map((g, i) => g * x[i]) };
  }
  return resultBase('input-x-gradient', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}
