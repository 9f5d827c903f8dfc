/**
 * What the CLI prints and writes about a model and a result: the model
 * summary and gradient coverage, the result's lines, its JSON, and its
 * heatmap PNG. Every string from a model goes through printable().
 */

import * as path from 'node:path';
import { printable, attributionMap, renderHeatmap, describeOps, describeLowered, finiteDifferenceReason, piecewiseConstantReason, type CoverageReport, type ModelSummary, type Tensor } from '@onnx-explain/core';
import type { ExplainResult } from '../explain';
import { encodePng, type LoadedImage } from '../image';

/** A model's strings as a terminal shows them (control characters escaped): core's printable, one definition for every view. */
export { printable };

export function formatShape(shape: ModelSummary['inputs'][number]['shape']): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '(rank unknown)';
}

/** The ops with their first three nodes, made printable. */
export const opList = (ops: CoverageReport['blocking']) => printable(describeOps(ops));

export function formatCoverage(c: CoverageReport): string {
  const lines = [
    `gradient coverage (opset ${c.opset}, output '${printable(c.output)}' with respect to ${c.wrt.map((w) => `'${printable(w)}'`).join(', ') || 'no float input'})`,
    ...c.ops.map((o) => {
      const name = o.domain ? `${o.domain}::${o.opType}` : o.opType;
      const path = o.status === 'missing' && o.onPath ? `  <- on the differentiated path (${o.onPath} node${o.onPath > 1 ? 's' : ''})` : '';
      return `  ${name.padEnd(24)} ${String(o.count).padStart(4)}  ${o.status}${path}`;
    }),
    c.piecewiseConstant.length
      ? `verdict: no gradient method explains it: ${printable(piecewiseConstantReason(c) ?? '')}`
      : c.verdict === 'graph'
      ? `verdict: differentiable by graph${c.lowered.length ? `, after lowering ${opList(c.lowered)} to standard ops (checked against the model's own output when it runs)` : ''}`
      : `verdict: needs finite differences: ${printable(finiteDifferenceReason(c) ?? '')}`,
  ];
  return lines.join('\n');
}

export function formatSummary(file: string, s: ModelSummary): string {
  const lines = [
    `model      ${file}`,
    `ir         ${s.irVersion}   opsets ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`,
    `producer   ${printable(s.producer) || '(not recorded)'}`,
    ...(s.description ? [`about      ${printable(s.description)}`] : []),
    ...s.metadata.map((m) => `metadata   ${printable(m.key)} = ${printable(m.value)}`),
    `parameters ${s.parameterCount.toLocaleString('en-US')} in initializers, ${s.nodeCount} nodes`,
    'inputs',
    ...s.inputs.map((i) => `  ${printable(i.name)}  ${i.type} ${formatShape(i.shape)}`),
    'outputs',
    ...s.outputs.map((o) => `  ${printable(o.name)}  ${o.type} ${formatShape(o.shape)}`),
  ];
  if (s.functions.length) lines.push('local functions', ...s.functions.map((f) => `  ${f}`));
  return lines.join('\n');
}

export function topClasses(out: Tensor, k = 3): { index: number; value: number }[] {
  const row = Array.from(out.data as Float32Array).slice(0, out.dims[out.dims.length - 1]);
  return row
    .map((value, index) => ({ index, value }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k);
}

export function printOutputs(outputs: Record<string, Tensor>): void {
  for (const [name, arr] of Object.entries(outputs)) {
    const preview = Array.from(arr.data as Float32Array).slice(0, 10).map((v) => Number(v).toFixed(4));
    process.stdout.write(`${name} ${arr.type} [${arr.dims.join(', ')}]: ${preview.join(' ')}${arr.data.length > 10 ? ' ...' : ''}\n`);
    if (arr.type === 'float32' && arr.dims.length >= 1) {
      const top = topClasses(arr).map((t) => `${t.index} (${t.value.toFixed(3)})`);
      process.stdout.write(`  top classes of the first row: ${top.join(', ')}\n`);
    }
  }
}

/** "3 (cat)" with labels, "3" without. */
export function className(c: number, labels?: string[]): string {
  return labels?.[c] !== undefined ? `${c} (${printable(labels[c])})` : String(c);
}

export function describeTarget(r: ExplainResult, labels?: string[]): string {
  if (r.classes) {
    const c = r.classes.length === 1 ? `class ${className(r.classes[0], labels)}` : `classes ${r.classes.map((k) => className(k, labels)).join(', ')}`;
    const how = r.target === 'top' ? 'the top class' : 'as asked';
    return `${c} (${how}); output value ${r.outputs.map((v) => v.toFixed(4)).join(', ')}`;
  }
  return `${typeof r.target === 'string' ? 'the sum of the output' : `output element [${(r.target as { index: number[] }).index.join(', ')}]`}; value ${r.outputs.map((v) => v.toFixed(4)).join(', ')}`;
}

/** "50 steps, gausslegendre", or for steps: 'auto' the points each example took. */
export function stepsText(r: ExplainResult): string {
  if (!r.adaptive) return `${r.steps} steps, ${r.integration}`;
  const per = r.adaptive.stepsPerExample;
  const counts = per.length === 1 ? `${per[0]}` : `${Math.min(...per)} to ${Math.max(...per)}`;
  return `${counts} steps (auto, ${r.integration}, tolerance ${r.adaptive.tolerance})`;
}

/** Where the gradients came from, or, for the perturbation methods, how many times the model ran. */
export function gradientsText(r: ExplainResult): string {
  if (r.method === 'tree-shap') return `read from the trees (${r.algorithm}, ${r.treeOutput} scores${r.covers ? `, node covers from ${r.covers}` : ''}), no gradients`;
  if (r.gradientSource === 'none') return `no gradients: the model ran ${r.evaluations ?? '?'} times`;
  return `gradients by ${r.gradientSource === 'graph' ? 'graph' : 'finite differences'}${r.fdReason ? ` (${r.fdReason})` : ''}${r.lowered ? ` (through ${printable(describeLowered(r.lowered))}, lowered to standard ops)` : ''}`;
}

/** What a perturbation method says of its own result: LIME's fit, KernelSHAP's enumeration. */
export function perturbationLines(r: ExplainResult): string[] {
  const lines: string[] = [];
  const elements = Object.values(r.attributions).reduce((n, t) => n + t.data.length, 0) / r.outputs.length;
  if (r.featureAttributions && r.featureAttributions.some((f) => f.length !== elements)) {
    lines.push(`features   ${r.featureAttributions.map((f) => f.length).join(', ')} (elements of a feature share its value)`);
  }
  if (r.r2) lines.push(`surrogate  R^2 ${r.r2.map((v) => v.toFixed(4)).join(', ')} (LIME's weighted linear fit; near 1: the model is nearly linear in the features here)`);
  if (r.exact) {
    lines.push(`coalitions ${r.coalitions!.map((c, e) => `${c}${r.exact![e] ? ' (all: exact Shapley values)' : ' (sampled)'}`).join(', ')}`);
  }
  return lines;
}

/** The JSON a run writes: the first attributed tensor as "attributions", every one under "attributionsByTensor". */
export function resultJson(r: ExplainResult, extra: Record<string, unknown>) {
  const names = Object.keys(r.attributions);
  const first = r.attributions[names[0]];
  const plain = (t: Tensor) => ({ shape: t.dims, data: Array.from(t.data as Float32Array) });
  return {
    ...extra,
    method: r.method,
    outputName: r.outputName,
    target: r.target,
    classes: r.classes,
    integration: r.integration,
    steps: r.steps,
    adaptive: r.adaptive,
    gradientSource: r.gradientSource,
    fdReason: r.fdReason,
    lowered: r.lowered,
    attributed: names[0],
    attributions: plain(first),
    attributionsByTensor: Object.fromEntries(names.map((n) => [n, plain(r.attributions[n])])),
    delta: r.delta,
    sum: r.sum,
    output: r.outputs,
    baselineOutput: r.baselineOutputs,
    positionScores: r.positionScores ? plain(r.positionScores) : undefined,
    heatmap: r.heatmap ? plain(r.heatmap) : undefined,
    runtime: r.runtime,
    batchNotes: r.batchNotes.length ? r.batchNotes : undefined,
    // the perturbation methods' own
    evaluations: r.evaluations,
    featureAttributions: r.featureAttributions,
    r2: r.r2,
    intercept: r.intercept,
    exact: r.exact,
    coalitions: r.coalitions,
    algorithm: r.algorithm,
    treeOutput: r.treeOutput,
    covers: r.covers,
  };
}

/** The attribution map of one example as a PNG, over the input image when there is one. */
export function heatmapPng(r: ExplainResult, feeds: Record<string, Tensor>, images: Record<string, LoadedImage>, example = 0, title: string[] = []): Buffer {
  if (r.heatmap) {
    const [, h, w] = r.heatmap.dims;
    const bg = Object.values(images)[0]?.grey;
    const map = { width: w, height: h, values: (r.heatmap.data as Float32Array).slice(example * h * w, (example + 1) * h * w) };
    return encodePng(renderHeatmap(map, { background: bg && bg.length === h * w && example === 0 ? bg : undefined, title }));
  }
  const name = Object.keys(r.attributions)[0];
  const t = r.attributions[name];
  const image = images[name];
  const layoutOf = (dims: number[]) => (dims.length === 4 && (dims[3] === 1 || dims[3] === 3) && dims[1] !== 1 && dims[1] !== 3 ? 'NHWC' : 'NCHW');
  if (t.dims.length !== 4 && t.dims.length !== 3) {
    throw new Error(`--heatmap needs an image-shaped attribution ([N, C, H, W] or [N, H, W, C]); '${name}' has shape [${t.dims.join(', ')}]`);
  }
  const per = t.dims.slice(1);
  const layout = layoutOf(t.dims);
  const size = per.reduce((a, b) => a * b, 1);
  const map = attributionMap((t.data as Float32Array).subarray(example * size, (example + 1) * size), per, layout);
  let background = example === 0 ? image?.grey : undefined;
  if (!background && feeds[name]) {
    // the input itself, channel-averaged and stretched to [0, 1]
    const m = attributionMap(Array.from((feeds[name].data as Float32Array).subarray(example * size, (example + 1) * size)), per, layout);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of m.values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    background = m.values.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5));
  }
  return encodePng(renderHeatmap(map, { background, title }));
}

/** What a saved heatmap says of itself: the model, the method, the target, and IG's delta. */
export function pictureTitle(model: string, r: ExplainResult, e: number, labels?: string[]): string[] {
  const target = r.classes ? `class ${className(r.classes[e], labels)}${r.target === 'top' ? ', the top' : ''}` : typeof r.target === 'string' ? 'sum of the output' : `output [${(r.target as { index: number[] }).index.join(', ')}]`;
  const lines = [path.basename(model), `${r.method}${r.steps ? `, ${r.steps} steps` : ''}`, `${target}, F(x) = ${r.outputs[e].toPrecision(4)}`];
  if (r.delta) lines.push(`delta ${r.delta[e].toExponential(2)}`);
  return lines;
}

/** Where flat index i of a row of shape `dims` is, named by axis for images: "(c, y, x) (0, 3, 4)", else "[i, j]". */
export function featureName(i: number, dims: number[]): string {
  if (dims.length <= 1) return String(i);
  const at: number[] = [];
  let rest = i;
  for (let d = dims.length - 1; d >= 0; d--) {
    at[d] = rest % dims[d];
    rest = Math.floor(rest / dims[d]);
  }
  if (dims.length === 3) {
    const nhwc = (dims[2] === 1 || dims[2] === 3) && dims[0] !== 1 && dims[0] !== 3;
    return `${nhwc ? '(y, x, c)' : '(c, y, x)'} (${at.join(', ')})`;
  }
  return `[${at.join(', ')}]`;
}

export function topFeatures(r: ExplainResult, example = 0, k = 5): string[] {
  const name = Object.keys(r.attributions)[0];
  const scores = r.positionScores ?? r.attributions[name];
  const dims = scores.dims.slice(1);
  const per = dims.reduce((a, b) => a * b, 1);
  const row = Array.from((scores.data as Float32Array).subarray(example * per, (example + 1) * per));
  return row
    .map((v, i) => ({ v, i }))
    .sort((a, b) => Math.abs(b.v) - Math.abs(a.v))
    .slice(0, k)
    .map(({ v, i }) => `${r.positionScores ? `position ${i}` : `feature ${featureName(i, dims)}`}: ${v >= 0 ? '+' : ''}${v.toFixed(4)}`);
}
