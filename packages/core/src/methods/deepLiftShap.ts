/**
 * DeepLiftShap, as Captum 0.8's DeepLiftShap: DeepLift from each row of a
 * baseline distribution, averaged; the values sum to F(x) - mean F(baseline
 * rows). Every example is paired with every baseline row in one batch of
 * DeepLift (deepLift.ts), so the pairs run in as few session runs as the
 * batch size allows.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions, TargetSpec } from './explainer';
import { deepLift } from './deepLift';
import { gatherRows, rowSize } from './tensors';
import type { AttributionResult } from './common';

export interface DeepLiftShapOptions extends CommonOptions {
  /** Baseline rows [K, ...] shaped like the attributed input's rows (a tensor, or per input name). */
  baselines: Tensor | Record<string, Tensor>;
}

export async function deepLiftShap(
  explainer: Explainer,
  inputs: Record<string, Tensor>,
  opts: DeepLiftShapOptions,
): Promise<AttributionResult & { baselineOutputs: number[]; delta: number[] }> {
  const batch = explainer.validate(inputs);
  if (!opts.baselines || typeof opts.baselines !== 'object') {
    throw new Error(`deeplift-shap needs baseline rows (a distribution, a tensor [K, ...]), got ${opts.baselines === undefined ? 'none' : `'${String(opts.baselines)}'`}: --baseline FILE`);
  }
  if (opts.at) throw new Error(`deeplift-shap pairs each example with rows of a baseline distribution of the model's inputs; at a layer ('${opts.at}') there is no such distribution: use deeplift at the layer, or gradient-shap`);
  const attributed = opts.attribute ?? explainer.floatInputs();
  if (!attributed.length) throw new Error(`deeplift-shap attributes floating-point inputs and the model has none; attribute at a layer with deeplift or gradient-shap`);
  const given: Record<string, Tensor> = 'dims' in opts.baselines ? Object.fromEntries(attributed.map((w) => [w, opts.baselines as Tensor])) : (opts.baselines as Record<string, Tensor>);
  let K = -1;
  for (const w of attributed) {
    const b = given[w];
    if (!b) throw new Error(`no baseline rows given for attributed input '${w}'`);
    const row = inputs[w].dims.slice(1);
    if (b.dims.length !== row.length + 1 || b.dims.slice(1).some((d, i) => d !== row[i])) throw new Error(`baseline rows for '${w}' have shape [${b.dims.join(', ')}], expected [K, ${row.join(', ')}]`);
    if (K >= 0 && b.dims[0] !== K) throw new Error(`the attributed inputs' baseline rows differ in number (${K} and ${b.dims[0]})`);
    K = b.dims[0];
  }
  // row e * K + k: example e with baseline row k
  const exampleRows = Array.from({ length: batch * K }, (_, j) => Math.floor(j / K));
  const baselineRows = Array.from({ length: batch * K }, (_, j) => j % K);
  const expanded = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, gatherRows(v, exampleRows)]));
  const spec = opts.target;
  const target: TargetSpec | undefined = Array.isArray(spec) ? exampleRows.map((e) => spec[e]) : spec;
  const r = await deepLift(explainer, expanded, {
    ...opts,
    target,
    baselines: Object.fromEntries(attributed.map((w) => [w, gatherRows(given[w], baselineRows)])),
  });
  const attributions: Record<string, Tensor> = {};
  for (const [w, t] of Object.entries(r.attributions)) {
    const per = rowSize(t);
    const data = new Float32Array(batch * per);
    const src = t.data as Float32Array;
    for (let j = 0; j < batch * K; j++) for (let i = 0; i < per; i++) data[Math.floor(j / K) * per + i] += src[j * per + i] / K;
    attributions[w] = { type: 'float32', dims: [batch, ...t.dims.slice(1)], data };
  }
  const mean = (xs: number[]) => Array.from({ length: batch }, (_, e) => xs.slice(e * K, (e + 1) * K).reduce((a, b) => a + b, 0) / K);
  const outputs = mean(r.outputs);
  const baselineOutputs = mean(r.baselineOutputs);
  const sum = mean(r.sum);
  return {
    ...r,
    method: 'deeplift-shap',
    attributions,
    sum,
    outputs,
    classes: r.classes && Array.from({ length: batch }, (_, e) => r.classes![e * K]),
    target: spec ?? 'top',
    baselineOutputs,
    delta: sum.map((s, e) => s - (outputs[e] - baselineOutputs[e])),
  };
}
