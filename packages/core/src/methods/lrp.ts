/**
 * Layer-wise Relevance Propagation with the epsilon rule (Bach et al. 2015),
 * as Captum 0.8's LRP with its default rules (grad/ruleSets.ts): the
 * relevance reaching the input, scaled by the explained output, so the
 * relevances sum to about F(x) (reported as delta = F(x) - sum, Captum's
 * convergence delta; epsilon and biases let some relevance leak). Graph
 * gradients only.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from './explainer';
import { gradientsAt, resultBase, type AttributionResult } from './common';
import type { LrpLayerRule } from '../grad/ruleSets';

export interface LrpOptions extends CommonOptions {
  /**
   * Rules per layer, keyed by op type ('Conv', 'Gemm') or node name (a
   * node's name wins): { rule: 'epsilon', epsilon }, { rule: 'gamma', gamma }
   * (default 0.25), { rule: 'alpha1beta0' } (z+), { rule: 'identity' }.
   * Unnamed layers take the epsilon rule (1e-9), as Captum's defaults.
   */
  layerRules?: Record<string, LrpLayerRule>;
}

export async function lrp(explainer: Explainer, inputs: Record<string, Tensor>, opts: LrpOptions = {}): Promise<AttributionResult & { delta: number[] }> {
  const rules = opts.layerRules && Object.keys(opts.layerRules).length ? { name: 'lrp' as const, layers: opts.layerRules } : 'lrp';
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'lrp', rules);
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const per = run.grads[w].length / run.selected.length;
    const data = run.grads[w].map((g, i) => g * run.selected[Math.floor(i / per)]);
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data };
  }
  const res = resultBase('lrp', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
  return { ...res, delta: res.outputs.map((f, e) => f - res.sum[e]) };
}
