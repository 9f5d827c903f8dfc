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
import type { ModelProto } from '../onnx/types';
import { opsetVersion, GraphIndex, normalizeDomain } from '../onnx/graph';
import { differentiablePaths } from '../grad/paths';
import { explainedOutput } from '../inspect';
import { describeOps } from '../grad/coverage';

/**
 * Ops that no LRP rule here (nor Captum's) covers: non-linearities other than
 * ReLU and Tanh, normalisations over features, and products of two
 * activations (attention). Captum refuses a module without a rule; so does
 * this, rather than pass relevance through them as if they were linear and
 * return numbers that neither conserve relevance nor mean anything.
 */
const NO_LRP_RULE = new Set([
  'Softmax', 'LogSoftmax', 'LayerNormalization', 'SimplifiedLayerNormalization', 'InstanceNormalization', 'GroupNormalization',
  'Erf', 'Gelu', 'FastGelu', 'BiasGelu', 'Pow', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Sigmoid', 'HardSigmoid', 'Softplus', 'Softsign',
  'Elu', 'Selu', 'Celu', 'LeakyRelu', 'PRelu', 'HardSwish', 'Mish', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceL2',
  'Attention', 'MultiHeadAttention', 'EmbedLayerNormalization', 'SkipLayerNormalization', 'LSTM', 'GRU', 'RNN',
]);

/** The nodes on the path from the attributed tensors to the output that LRP has no rule for. */
export function lrpUnsupported(model: ModelProto, wrt: string[], output?: string): { opType: string; domain: string; nodes: string[]; count: number }[] {
  const graph = model.graph ?? {};
  const index = new GraphIndex(graph);
  const paths = differentiablePaths(graph, { output: explainedOutput(model, output), wrt, opset: opsetVersion(model, '') ?? 0, typeOf: (n) => index.elemType(n), index });
  const found = new Map<string, { opType: string; domain: string; nodes: string[]; count: number }>();
  for (const n of paths.order) {
    if (!paths.onPath(n)) continue;
    const op = n.opType ?? '';
    // a product or quotient of two tensors that both depend on the input is not a layer with weights
    const twoActivations = ['MatMul', 'Mul', 'Div', 'Einsum'].includes(op) && (n.input ?? []).filter((i) => paths.depends.has(i)).length > 1;
    if (!NO_LRP_RULE.has(op) && !twoActivations && !(op === 'Div' && paths.depends.has(n.input?.[1] ?? ''))) continue;
    const key = `${normalizeDomain(n.domain)}::${op}`;
    const entry = found.get(key) ?? { opType: op, domain: normalizeDomain(n.domain), nodes: [], count: 0 };
    entry.count++;
    entry.nodes.push(n.name ?? '');
    found.set(key, entry);
  }
  return [...found.values()];
}

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
  const wrt = opts.at ? [opts.at] : opts.attribute ?? explainer.floatInputs();
  const missing = lrpUnsupported(explainer.model, wrt, opts.output);
  if (missing.length) {
    throw new Error(`lrp: no LRP rule for ${describeOps(missing)} on the way from ${wrt.map((w) => `'${w}'`).join(', ')} to the output (LRP's rules cover Gemm, Conv, BatchNormalization, pooling, ReLU and Tanh, as Captum's); explain it with ig or deeplift`);
  }
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
