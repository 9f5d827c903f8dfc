/**
 * TreeSHAP: exact Shapley values of a tree ensemble, read from the ONNX-ML
 * node itself (trees/), with no model run for the trees (only for ops before
 * them, see trees/locate.ts).
 *
 * - algorithm 'interventional' (the default with a background set, as
 *   shap's feature_perturbation="interventional"): v(S) = mean over the
 *   background rows r of f(x on S, r elsewhere); the values sum to
 *   f(x) - mean f(r).
 * - algorithm 'path-dependent' (the default without one): v(S) = E[f(x) | x_S]
 *   under the trees' own node covers (nodes_hitrates when they are covers,
 *   else counted by passing the background down the trees); the values sum
 *   to f(x) - E[f].
 * - treeOutput 'raw' (default): the aggregated leaf weights plus base values,
 *   before post_transform (a binary classifier's class-1 margin s; class 0's
 *   is -s). 'probability': the score output after post_transform, exact by
 *   enumerating the coalitions of the features where x and a background row
 *   differ (at most MAX_ENUMERATED of them), interventional only.
 */
import type { Tensor } from '../runtime';
import type { Explainer, CommonOptions } from './explainer';
import type { AttributionResult } from './common';
import { cloneModel } from '../onnx/codec';
import { locateForest, type LocatedForest } from '../trees/locate';
import { interventionalTreeShap, pathDependentTreeShap, expectedRawScores, countedCovers, hitrateCovers, type TargetValues } from '../trees/shapley';
import { rawScores, forestScores } from '../trees/evaluate';
import type { Forest } from '../trees/forest';
import { rowSize } from './tensors';
import { TargetError } from './explainer';

export interface TreeShapOptions extends Omit<CommonOptions, 'at' | 'gradients' | 'attribute'> {
  /** Background rows [K, features] (the model input's rows). */
  background?: Tensor;
  algorithm?: 'interventional' | 'path-dependent';
  treeOutput?: 'raw' | 'probability';
}

export interface TreeShapExtras {
  algorithm: 'interventional' | 'path-dependent';
  treeOutput: 'raw' | 'probability';
  /** Where path-dependent's covers came from. */
  covers?: 'hitrates' | 'background';
  /** The value the attributions explain the difference from (mean f over the background, or E[f] under the covers), per example. */
  baselineOutputs: number[];
  /** sum(values) - (F(x) - baseline) per example: zero up to rounding. */
  delta: number[];
  featureAttributions: number[][];
  evaluations: number;
}

/** Most features a probability explanation enumerates the coalitions of (2^12 forest evaluations per background row). */
export const MAX_ENUMERATED = 12;

/** Rows (as float64 arrays) of the tensor the trees split on, for model inputs given batch first. */
async function treeRows(explainer: Explainer, located: LocatedForest, feeds: Record<string, Tensor>): Promise<Float64Array[]> {
  let t = feeds[located.input];
  if (located.prefix.length) {
    // the per-feature ops before the trees, run by the runtime
    const model = cloneModel(explainer.model);
    model.graph!.output = [{ name: located.treeInput }];
    const session = await explainer.runtime.createSession(model);
    try {
      t = (await session.run(feeds))[located.treeInput];
    } finally {
      await session.release();
    }
  }
  const per = rowSize(t);
  // any numeric type the trees take (float, double, int32, int64), as numbers
  const data = Float64Array.from(t.data as ArrayLike<number | bigint>, Number);
  return Array.from({ length: t.dims[0] }, (_, r) => data.slice(r * per, (r + 1) * per));
}

/** The explained value of a row for a class/target (raw or transformed), and the sign that maps raw target values onto it. */
function scoreOf(forest: Forest, row: Float64Array, target: number | 'sum', output: 'raw' | 'probability'): number {
  if (output === 'probability') {
    const z = forestScores(forest, row);
    return target === 'sum' ? z.reduce((a, b) => a + b, 0) : z[target];
  }
  const raw = rawScores(forest, row);
  if (target === 'sum') return raw.reduce((a, b) => a + b, 0);
  if (forest.binary) return target === 1 ? raw[0] : -raw[0];
  return raw[target];
}

/** The values of one target from per-target raw values. */
function valuesFor(forest: Forest, phi: TargetValues, target: number | 'sum', width: number): Float64Array {
  if (target === 'sum') {
    const out = new Float64Array(width);
    for (const p of phi) for (let i = 0; i < width; i++) out[i] += p[i];
    return out;
  }
  if (forest.binary) return phi[0].map((v) => (target === 1 ? v : -v));
  return phi[target];
}

/** Exact Shapley values of the transformed output against one background row, by enumerating the features where they differ. */
function enumeratedValues(forest: Forest, split: Set<number>, x: Float64Array, r: Float64Array, target: number | 'sum', width: number, k: number): Float64Array {
  // only features some tree splits on can change the output
  const differ: number[] = [];
  for (let i = 0; i < width; i++) if (split.has(i) && !(x[i] === r[i] || (Number.isNaN(x[i]) && Number.isNaN(r[i])))) differ.push(i);
  const m = differ.length;
  if (m > MAX_ENUMERATED) {
    throw new Error(
      `the probability output's exact values enumerate the coalitions of the features where the example and a background row differ: background row ${k} differs in ${m}, over the limit of ${MAX_ENUMERATED}; explain the raw scores (treeOutput 'raw', the default) or the probabilities with kernel-shap`,
    );
  }
  const value = new Float64Array(1 << m);
  const row = Float64Array.from(r);
  for (let mask = 0; mask < 1 << m; mask++) {
    for (let j = 0; j < m; j++) row[differ[j]] = mask & (1 << j) ? x[differ[j]] : r[differ[j]];
    value[mask] = scoreOf(forest, row, target, 'probability');
  }
  const fact = [1];
  for (let i = 1; i <= m; i++) fact.push(fact[i - 1] * i);
  const out = new Float64Array(width);
  for (let mask = 0; mask < 1 << m; mask++) {
    let size = 0;
    for (let j = 0; j < m; j++) if (mask & (1 << j)) size++;
    for (let j = 0; j < m; j++) {
      if (mask & (1 << j)) continue;
      out[differ[j]] += ((fact[size] * fact[m - size - 1]) / fact[m]) * (value[mask | (1 << j)] - value[mask]);
    }
  }
  return out;
}

export async function treeShap(explainer: Explainer, inputs: Record<string, Tensor>, opts: TreeShapOptions = {}): Promise<AttributionResult & TreeShapExtras> {
  // NaN is a missing value, which the trees send down their missing-value tracks
  const batch = explainer.validate(inputs, { missingValues: true });
  const located = locateForest(explainer.model);
  const { forest } = located;
  const output = opts.treeOutput ?? 'raw';
  if (output !== 'raw' && output !== 'probability') throw new RangeError(`treeOutput must be 'raw' or 'probability', got '${output as string}'`);
  const algorithm = opts.algorithm ?? (opts.background ? 'interventional' : 'path-dependent');
  if (algorithm !== 'interventional' && algorithm !== 'path-dependent') throw new RangeError(`algorithm must be 'interventional' or 'path-dependent', got '${algorithm as string}'`);
  if (algorithm === 'interventional' && !opts.background) throw new Error('interventional TreeSHAP needs background rows (--background)');
  if (algorithm === 'path-dependent' && output === 'probability') throw new Error("the probability output's values are exact by enumeration against background rows: use algorithm 'interventional' with a background");
  // a regressor's base value counts only where some leaf of its target is reached (onnxruntime writes 0 otherwise): not additive unless always reached
  if (forest.opType !== 'TreeEnsembleClassifier') {
    forest.base.forEach((b, t) => {
      const always = forest.trees.some((tree) => tree.yes.every((child, n) => child >= 0 || tree.leafTargets[n].includes(t)));
      if (b !== 0 && !always) {
        throw new Error(`${forest.node}: target ${t} has a base value but no tree reaches it on every path, and onnxruntime adds the base only where some leaf of it is reached: its output is not a sum over trees, so TreeSHAP does not apply; explain it with kernel-shap`);
      }
    });
  }
  const splitFeatures = new Set(forest.trees.flatMap((tree) => Array.from(tree.feature).filter((_, n) => tree.yes[n] >= 0)));
  // the inputs, and the background, as the rows the trees split on
  const x = await treeRows(explainer, located, inputs);
  const width = x[0].length;
  let background: Float64Array[] = [];
  if (opts.background) {
    const b = opts.background;
    const inputRow = inputs[located.input].dims.slice(1);
    if (b.dims.length !== inputRow.length + 1 || b.dims.slice(1).some((d, i) => d !== inputRow[i]) || b.dims[0] < 1) {
      throw new Error(`background has shape [${b.dims.join(', ')}]: its rows must have the input's row shape, [K, ${inputRow.join(', ')}]`);
    }
    const feeds: Record<string, Tensor> = { [located.input]: b };
    // other model inputs (none for a plain ensemble) take the first example's values
    for (const [k, v] of Object.entries(inputs)) if (k !== located.input) feeds[k] = { ...v, dims: [b.dims[0], ...v.dims.slice(1)], data: repeatRow(v, b.dims[0]) };
    background = await treeRows(explainer, located, feeds);
  }
  // targets: as asked, or each example's top class by the score output
  const columns = forest.binary ? 2 : forest.nTargets;
  const spec = opts.target;
  let targets: (number | 'sum')[];
  if (spec === 'sum') targets = new Array(batch).fill('sum');
  else if (spec === undefined) targets = x.map((row) => argmax(forestScores(forest, row)));
  else {
    const list = typeof spec === 'number' ? new Array(batch).fill(spec) : Array.isArray(spec) ? spec : spec.index.length === 1 ? new Array(batch).fill(spec.index[0]) : undefined;
    if (!list) throw new TargetError(`target index [${(spec as { index: number[] }).index.join(', ')}] does not index the trees' scores of shape [N, ${columns}]`);
    if (list.length !== batch) throw new TargetError(`${list.length} targets given for ${batch} examples`);
    for (const c of list) if (!Number.isInteger(c) || c < 0 || c >= columns) throw new TargetError(`target ${c} is out of range: the trees' scores ('${located.scores}') have ${columns} column${columns === 1 ? '' : 's'} (0 to ${columns - 1})`);
    targets = list;
  }
  let covers: Float64Array[] | undefined;
  let coverSource: 'hitrates' | 'background' | undefined;
  if (algorithm === 'path-dependent') {
    covers = hitrateCovers(forest);
    coverSource = 'hitrates';
    if (!covers) {
      if (!background.length) throw new Error(`${forest.node} carries no node covers (its nodes_hitrates are absent or do not add up): path-dependent TreeSHAP needs a background set to count them (--background)`);
      covers = countedCovers(forest, background);
      coverSource = 'background';
    }
  }
  const attributions = new Float32Array(batch * rowSize(inputs[located.input]));
  const perRow = rowSize(inputs[located.input]);
  const featureAttributions: number[][] = [];
  const outputs: number[] = [];
  const baselineOutputs: number[] = [];
  for (let e = 0; e < batch; e++) {
    const target = targets[e];
    let values: Float64Array;
    let base: number;
    if (output === 'probability') {
      values = new Float64Array(width);
      background.forEach((r, k) => enumeratedValues(forest, splitFeatures, x[e], r, target, width, k).forEach((v, i) => (values[i] += v / background.length)));
      base = background.reduce((s, r) => s + scoreOf(forest, r, target, 'probability'), 0) / background.length;
    } else if (algorithm === 'interventional') {
      values = valuesFor(forest, interventionalTreeShap(forest, x[e], background, width), target, width);
      base = background.reduce((s, r) => s + scoreOf(forest, r, target, 'raw'), 0) / background.length;
    } else {
      values = valuesFor(forest, pathDependentTreeShap(forest, x[e], covers!, width), target, width);
      const expected = expectedRawScores(forest, covers!);
      base = target === 'sum' ? expected.reduce((a, b) => a + b, 0) : forest.binary ? (target === 1 ? expected[0] : -expected[0]) : expected[target];
    }
    const fx = scoreOf(forest, x[e], target, output);
    for (let i = 0; i < Math.min(width, perRow); i++) attributions[e * perRow + i] = values[i];
    for (const v of values) if (!Number.isFinite(v)) throw new Error(`tree-shap: a value for example ${e} is ${v}: the forest's weights or covers are not finite`);
    featureAttributions.push(Array.from(values));
    outputs.push(fx);
    baselineOutputs.push(base);
  }
  const sum = featureAttributions.map((v) => v.reduce((a, b) => a + b, 0));
  return {
    method: 'tree-shap',
    attributions: { [located.input]: { type: 'float32', dims: [...inputs[located.input].dims], data: attributions } },
    sum,
    target: spec ?? 'top',
    classes: targets.every((t) => t !== 'sum') ? (targets as number[]) : undefined,
    outputs,
    outputName: located.scores,
    gradientSource: 'none',
    runtime: explainer.runtime.name,
    batchNotes: [],
    batchSize: 1,
    algorithm,
    treeOutput: output,
    covers: coverSource,
    baselineOutputs,
    delta: sum.map((s, e) => s - (outputs[e] - baselineOutputs[e])),
    featureAttributions,
    // the trees are walked in TypeScript: no model evaluations (the per-feature ops before them run once per call)
    evaluations: 0,
  };
}

function argmax(v: Float64Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

function repeatRow(t: Tensor, n: number): Tensor['data'] {
  const per = rowSize(t);
  const data = new (t.data.constructor as new (k: number) => Tensor['data'])(n * per);
  for (let r = 0; r < n; r++) (data as Float32Array).set((t.data as Float32Array).subarray(0, per), r * per);
  return data;
}
