/**
 * The onnx-explain command line. Every command reports bad input as one line
 * on stderr and a non-zero exit, never a stack trace.
 */
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { promises as fs } from 'node:fs';
import {
  summarizeModel,
  parseLabels,
  metadataLabels,
  probeShapes,
  dataTypeName,
  typeShape,
  checkInput,
  gradientCoverage,
  attributionMap,
  renderHeatmap,
  INTEGRATION_METHODS,
  type ModelSummary,
  type CoverageReport,
  describeOps,
  describeLowered,
  finiteDifferenceReason,
  type Tensor,
  type TargetSpec,
  type IntegrationMethod,
  type GradientMode,
  type ProgressEvent,
  type IntegratedGradientsOptions,
} from '@onnx-explain/core';
import { loadModelFile } from './modelFile';
import { readInputFile } from './inputFile';
import { OrtNodeRuntime } from './ortRuntime';
import { encodeNpy, runOnce } from '@onnx-explain/core';
import { NodeExplainer, METHODS, toTensor, type MethodName, type ExplainResult } from './explain';
import { METHOD_TABLE, methodsReading, type MethodOptionName } from '@onnx-explain/core';

/** ' [ig, smoothgrad]': the methods that read an option, from the methods table. */
const usedBy = (option: MethodOptionName) => ` [${methodsReading(option).join(', ')}]`;
import { isImageFile, loadImage, encodePng, type LoadedImage } from './image';
import type { Device } from './runtime';

const REPO_MODELS = path.resolve(__dirname, '../../../models');

/**
 * A model's strings as a terminal shows them: control characters (escape
 * sequences that recolour, move the cursor or retitle the window, carriage
 * returns that overwrite a line) are written as \\u escapes instead.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatShape(shape: ModelSummary['inputs'][number]['shape']): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '(rank unknown)';
}

/** The ops with their first three nodes, made printable. */
const opList = (ops: CoverageReport['blocking']) => printable(describeOps(ops));

export function formatCoverage(c: CoverageReport): string {
  const lines = [
    `gradient coverage (opset ${c.opset}, output '${printable(c.output)}' with respect to ${c.wrt.map((w) => `'${printable(w)}'`).join(', ') || 'no float input'})`,
    ...c.ops.map((o) => {
      const name = o.domain ? `${o.domain}::${o.opType}` : o.opType;
      const path = o.status === 'missing' && o.onPath ? `  <- on the differentiated path (${o.onPath} node${o.onPath > 1 ? 's' : ''})` : '';
      return `  ${name.padEnd(24)} ${String(o.count).padStart(4)}  ${o.status}${path}`;
    }),
    c.verdict === 'graph'
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

function topClasses(out: Tensor, k = 3): { index: number; value: number }[] {
  const row = Array.from(out.data as Float32Array).slice(0, out.dims[out.dims.length - 1]);
  return row
    .map((value, index) => ({ index, value }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k);
}

/** One intermediate tensor as `inspect --tensors` lists it: what --at and Grad-CAM's layer take. */
export interface TensorListing {
  name: string;
  op: string;
  type: string;
  /** From running the model on --input ('N' the batch), else as the model declares it, else unknown. */
  shape: (number | string)[] | null;
}

async function listTensors(loaded: Awaited<ReturnType<typeof loadModelFile>>, inputs: string[] | undefined, a: InputArgs): Promise<TensorListing[]> {
  const graph = loaded.model.graph!;
  const declared = new Map((graph.valueInfo ?? []).map((v) => [v.name, v]));
  let probed: Awaited<ReturnType<typeof probeShapes>> | undefined;
  if (inputs?.length) {
    const { feeds } = await readInputs({ ...a, input: inputs }, summarizeModel(loaded.model));
    const one = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { ...v, dims: [1, ...v.dims.slice(1)], data: v.data.slice(0, v.data.length / Math.max(1, v.dims[0])) as Tensor['data'] }]));
    probed = await probeShapes(new OrtNodeRuntime(), loaded.model, one);
  }
  const out: TensorListing[] = [];
  for (const n of graph.node ?? []) {
    for (const o of n.output ?? []) {
      if (!o) continue;
      const p = probed?.get(o);
      const v = declared.get(o);
      const type = p ? dataTypeName(p.type) : v?.type?.tensorType ? dataTypeName(v.type.tensorType.elemType) : 'unknown';
      const shape = p ? p.dims.map((d) => (typeof d === 'string' && d.startsWith('?') ? '?' : d)) : typeShape(v?.type)?.map((d) => d ?? '?') ?? null;
      out.push({ name: o, op: n.domain ? `${n.domain}::${n.opType}` : n.opType ?? '', type, shape });
    }
  }
  return out;
}

async function inspect(model: string, json: boolean, tensors = false, inputs?: string[], a: Partial<InputArgs> = {}): Promise<void> {
  const loaded = await loadModelFile(model, { loadExternalData: !!inputs?.length });
  const summary = summarizeModel(loaded.model);
  const coverage = gradientCoverage(loaded.model);
  const listing = tensors ? await listTensors(loaded, inputs, { input: [], ...a }) : undefined;
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, gradientCoverage: coverage, ...(listing ? { tensors: listing } : {}) }, null, 2) + '\n');
    return;
  }
  const lines = [formatSummary(model, summary), formatCoverage(coverage)];
  if (listing) {
    lines.push(`tensors (${inputs?.length ? 'shapes from running the model on the input' : 'shapes as the model declares them; give --input for all of them'})`);
    const width = Math.min(60, Math.max(...listing.map((t) => printable(t.name).length)));
    for (const t of listing) lines.push(`  ${printable(t.name).padEnd(width)}  ${t.op.padEnd(18)} ${t.type} ${t.shape ? `[${t.shape.join(', ')}]` : '(shape unknown)'}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function run(model: string, inputs: string[]): Promise<Record<string, Tensor>> {
  const loaded = await loadModelFile(model);
  const { feeds } = await readInputs({ input: inputs }, summarizeModel(loaded.model));
  return runOnce(new OrtNodeRuntime(), loaded.model, feeds);
}

function printOutputs(outputs: Record<string, Tensor>): void {
  for (const [name, arr] of Object.entries(outputs)) {
    const preview = Array.from(arr.data as Float32Array).slice(0, 10).map((v) => Number(v).toFixed(4));
    process.stdout.write(`${name} ${arr.type} [${arr.dims.join(', ')}]: ${preview.join(' ')}${arr.data.length > 10 ? ' ...' : ''}\n`);
    if (arr.type === 'float32' && arr.dims.length >= 1) {
      const top = topClasses(arr).map((t) => `${t.index} (${t.value.toFixed(3)})`);
      process.stdout.write(`  top classes of the first row: ${top.join(', ')}\n`);
    }
  }
}

/** A progress bar on stderr, drawn only on a terminal. */
function progressBar(enabled: boolean) {
  let last = '';
  return {
    update(e: ProgressEvent) {
      if (!enabled) return;
      const width = 30;
      const filled = Math.round((width * e.done) / Math.max(1, e.total));
      const line = `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((100 * e.done) / Math.max(1, e.total))).padStart(3)}% ${e.phase} ${e.done}/${e.total}`;
      if (line !== last) process.stderr.write(line.padEnd(last.length));
      last = line;
    },
    done() {
      if (enabled && last) process.stderr.write('\r' + ' '.repeat(last.length) + '\r');
    },
  };
}

function parseTarget(t: string | undefined): TargetSpec | undefined {
  if (t === undefined) return undefined;
  if (t === 'sum') return 'sum';
  if (/^\d+$/.test(t)) return Number(t);
  if (/^\d+(,\d+)+$/.test(t)) return { index: t.split(',').map(Number) };
  throw new Error(`--target '${t}' is not a class index (3), an index over the output's non-batch axes (0,2,1) or 'sum'`);
}

/** yargs coercions that refuse what would run into NaN or nonsense later, naming the option and the value. */
const positiveInt = (flag: string, max = Number.MAX_SAFE_INTEGER) => (v: unknown) => {
  const n = Number(v);
  if (v === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${flag} must be a whole number from 1 to ${max.toLocaleString('en-US')}, got '${v}'`);
  return n;
};
const finite = (flag: string, { positive = false, below }: { positive?: boolean; below?: number } = {}) => (v: unknown) => {
  const n = Number(v);
  if (v === undefined) return undefined;
  if (!Number.isFinite(n) || (positive ? n <= 0 : n < 0) || (below !== undefined && n >= below)) {
    throw new Error(`--${flag} must be a ${positive ? 'positive' : 'non-negative'} number${below !== undefined ? ` below ${below}` : ''}, got '${v}'`);
  }
  return n;
};

function parseList(v: string | undefined, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(/[,x]/).map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (xs.some((n) => !Number.isFinite(n))) throw new Error(`${what} '${v}' is not a list of numbers`);
  return xs;
}

interface AttributeArgs {
  model: string;
  input: string[];
  target?: string;
  outputName?: string;
  method: MethodName;
  steps: number | 'auto';
  tolerance?: number;
  integration: IntegrationMethod;
  baseline?: string;
  batchSize?: number;
  at?: string;
  gradients: GradientMode;
  device: Device;
  json?: string;
  npy?: string;
  heatmap?: string;
  samples?: number;
  stdev?: number;
  maxEvaluations?: number;
  labels?: string;
  vocab?: string;
  attribute?: string;
  resize?: string;
  layout?: 'NCHW' | 'NHWC';
  scale?: number;
  mean?: string;
  std?: string;
  grayscale?: boolean;
  quiet: boolean;
}

type InputArgs = Pick<AttributeArgs, 'input' | 'resize' | 'layout' | 'scale' | 'mean' | 'std' | 'grayscale'>;

/** Reads --input values: NAME=FILE or FILE (for the inputs in order); images are preprocessed to fit the model. */
async function readInputs(a: InputArgs, summary: ModelSummary) {
  const feeds: Record<string, Tensor> = {};
  const images: Record<string, LoadedImage> = {};
  for (const spec of a.input) {
    const eq = spec.indexOf('=');
    const named = eq > 0 && !/^[A-Za-z]:[\\/]/.test(spec);
    const name = named ? spec.slice(0, eq) : summary.inputs[Object.keys(feeds).length]?.name;
    const file = named ? spec.slice(eq + 1) : spec;
    const declared = summary.inputs.find((i) => i.name === name);
    if (!named && !declared) {
      throw new Error(`${a.input.length} --input files for a model with ${summary.inputs.length} input${summary.inputs.length === 1 ? '' : 's'} (${summary.inputs.map((i) => i.name).join(', ')}); name each one: --input NAME=FILE`);
    }
    if (!declared) throw new Error(`the model has no input '${name}'; its inputs are ${summary.inputs.map((i) => i.name).join(', ')}`);
    if (feeds[declared.name]) throw new Error(`input '${declared.name}' is given twice`);
    if (isImageFile(file)) {
      const shape = declared.shape ?? [];
      const channelsFirst = a.layout ? a.layout === 'NCHW' : !(shape.length === 4 && (shape[3] === 1 || shape[3] === 3) && shape[1] !== 1 && shape[1] !== 3);
      const layout = channelsFirst ? 'NCHW' : 'NHWC';
      const dims = layout === 'NCHW' ? shape.slice(2) : shape.slice(1, 3);
      const channels = layout === 'NCHW' ? shape[1] : shape[3];
      const asked = parseList(a.resize, '--resize');
      if (asked && (asked.length !== 2 || asked.some((v) => !Number.isInteger(v) || v < 1))) throw new Error(`--resize takes HxW, two positive whole numbers (e.g. 224x224), got '${a.resize}'`);
      const size = asked ?? (dims.every((d) => typeof d === 'number') && dims.length === 2 ? (dims as number[]) : undefined);
      const std = parseList(a.std, '--std');
      if (std?.some((v) => v <= 0)) throw new Error(`--std divides, so every value must be positive, got '${a.std}'`);
      const img = await loadImage(file, {
        size: size as [number, number] | undefined,
        layout,
        grayscale: a.grayscale ?? channels === 1,
        scale: a.scale,
        mean: parseList(a.mean, '--mean'),
        std,
      });
      images[declared.name] = img;
      feeds[declared.name] = toTensor(img.tensor);
    } else {
      feeds[declared.name] = toTensor(await readInputFile(file));
    }
    checkInput(declared, { dtype: feeds[declared.name].type, shape: feeds[declared.name].dims });
  }
  const missing = summary.inputs.filter((i) => !feeds[i.name]);
  if (missing.length) throw new Error(`no value given for input ${missing.map((i) => `'${i.name}'`).join(', ')} (use --input NAME=FILE)`);
  return { feeds, images };
}

/** A vocabulary file as JSON, token to id (or a list, whose positions are the ids), inverted: id to token. */
function readVocab(text: string, file: string): Map<number, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`vocabulary file '${file}' is not JSON: ${(e as Error).message}`);
  }
  const entries: [string, unknown][] = Array.isArray(parsed) ? parsed.map((t, i) => [String(t), i]) : Object.entries(parsed as Record<string, unknown>);
  const out = new Map<number, string>();
  for (const [token, id] of entries) {
    if (!Number.isInteger(id)) throw new Error(`vocabulary file '${file}' maps tokens to ids; '${token}' maps to ${JSON.stringify(id)}`);
    if (!out.has(id as number)) out.set(id as number, token);
  }
  return out;
}

/** "3 (cat)" with labels, "3" without. */
function className(c: number, labels?: string[]): string {
  return labels?.[c] !== undefined ? `${c} (${printable(labels[c])})` : String(c);
}

function describeTarget(r: ExplainResult, labels?: string[]): string {
  if (r.classes) {
    const c = r.classes.length === 1 ? `class ${className(r.classes[0], labels)}` : `classes ${r.classes.map((k) => className(k, labels)).join(', ')}`;
    const how = r.target === 'top' ? 'the top class' : 'as asked';
    return `${c} (${how}); output value ${r.outputs.map((v) => v.toFixed(4)).join(', ')}`;
  }
  return `${typeof r.target === 'string' ? 'the sum of the output' : `output element [${(r.target as { index: number[] }).index.join(', ')}]`}; value ${r.outputs.map((v) => v.toFixed(4)).join(', ')}`;
}

/** "50 steps, gausslegendre", or for steps: 'auto' the points each example took. */
function stepsText(r: ExplainResult): string {
  if (!r.adaptive) return `${r.steps} steps, ${r.integration}`;
  const per = r.adaptive.stepsPerExample;
  const counts = per.length === 1 ? `${per[0]}` : `${Math.min(...per)} to ${Math.max(...per)}`;
  return `${counts} steps (auto, ${r.integration}, tolerance ${r.adaptive.tolerance})`;
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
  };
}

/** The attribution map of one example as a PNG, over the input image when there is one. */
function heatmapPng(r: ExplainResult, feeds: Record<string, Tensor>, images: Record<string, LoadedImage>, example = 0, title: string[] = []): Buffer {
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
function pictureTitle(model: string, r: ExplainResult, e: number, labels?: string[]): string[] {
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

function topFeatures(r: ExplainResult, example = 0, k = 5): string[] {
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

export async function attribute(a: AttributeArgs): Promise<ExplainResult> {
  const explainer = await NodeExplainer.load(a.model, { device: a.device });
  if (explainer.notice && !a.quiet) process.stderr.write(`onnx-explain: ${explainer.notice}\n`);
  try {
    const { feeds, images } = await readInputs(a, explainer.summary);
    // the token for each id, from a vocabulary file mapping tokens to ids (the text model's own)
    const vocab = a.vocab ? readVocab(await fs.readFile(a.vocab, 'utf8').catch(() => { throw new Error(`vocabulary file '${a.vocab}' cannot be read`); }), a.vocab) : undefined;
    // class names before any work: a bad labels file is refused like any bad input
    const labels = a.labels ? parseLabels(await fs.readFile(a.labels, 'utf8').catch(() => { throw new Error(`labels file '${a.labels}' cannot be read`); }), `labels file '${a.labels}'`) : metadataLabels(explainer.summary.metadata);
    let baselines: IntegratedGradientsOptions['baselines'];
    if (a.baseline && a.baseline !== 'zeros') {
      const b = isImageFile(a.baseline)
        ? toTensor((await loadImage(a.baseline, { size: Object.values(images)[0] ? [Object.values(images)[0].height, Object.values(images)[0].width] : undefined, grayscale: Object.values(feeds)[0]?.dims[1] === 1 })).tensor)
        : toTensor(await readInputFile(a.baseline));
      // with --at and integer baseline values, the baseline is model input (pad token ids) whose layer value is used
      baselines = a.at && (b.type === 'int64' || b.type === 'int32') ? { inputs: { ...feeds, [explainer.summary.inputs[0].name]: b } } : b;
    }
    const bar = progressBar(!a.quiet && process.stderr.isTTY === true);
    const started = Date.now();
    let result: ExplainResult;
    try {
      result = await explainer.explain(feeds, {
        method: a.method,
        target: parseTarget(a.target),
        output: a.outputName,
        steps: a.steps,
        tolerance: a.tolerance,
        integration: a.integration,
        baselines,
        internalBatchSize: a.batchSize,
        at: a.method === 'grad-cam' ? undefined : a.at,
        layer: a.method === 'grad-cam' ? a.at : undefined,
        gradients: a.gradients,
        samples: a.samples,
        stdev: a.stdev,
        maxEvaluations: a.maxEvaluations,
        attribute: a.attribute ? a.attribute.split(',').map((n) => n.trim()).filter(Boolean) : undefined,
        onProgress: (e) => bar.update(e),
      });
    } finally {
      bar.done();
    }
    const seconds = (Date.now() - started) / 1000;
    const unnamed = (result.classes ?? []).filter((c) => labels && labels[c] === undefined);
    if (labels && unnamed.length) throw new Error(`${a.labels ? `labels file '${a.labels}'` : "the model's metadata labels"} names ${labels.length} class${labels.length === 1 ? '' : 'es'}; class ${unnamed[0]} has no name`);
    const lines = [
      `model      ${a.model} (${explainer.device})`,
      `method     ${result.method}${result.steps ? `, ${stepsText(result)}` : ''}, gradients by ${result.gradientSource === 'graph' ? 'graph' : 'finite differences'}${result.fdReason ? ` (${result.fdReason})` : ''}${result.lowered ? ` (through ${printable(describeLowered(result.lowered))}, lowered to standard ops)` : ''}`,
      // which output, when there is a choice, and why that one
      `target     ${describeTarget(result, labels)}${explainer.summary.outputs.length > 1 ? `; output '${printable(result.outputName)}'${a.outputName ? '' : ' (the first floating-point output)'}` : ''}`,
    ];
    if (result.delta) {
      lines.push(`delta      ${result.delta.map((d) => d.toExponential(2)).join(', ')}  (sum of attributions ${result.sum.map((v) => v.toFixed(4)).join(', ')}; F(x) - F(baseline) ${result.outputs.map((v, i) => (v - (result.baselineOutputs?.[i] ?? 0)).toFixed(4)).join(', ')})`);
    }
    // one line per example: a batch is reported whole, not by its first row
    const examples = result.outputs.length;
    for (let e = 0; e < examples; e++) lines.push(`largest    ${examples > 1 ? `example ${e}: ` : ''}${topFeatures(result, e).join('; ')}`);
    if (result.positionScores) {
      // text: each position as its token (from --vocab) or its id, with its score, in reading order
      const per = result.positionScores.dims.slice(1).reduce((x, y) => x * y, 1);
      // the token ids: the first integer input with one value per position (not an attention mask over past and present)
      const ids = Object.values(feeds).find((t) => t.type !== 'float32' && t.type !== 'float64' && t.type !== 'bool' && t.data.length === per * t.dims[0]);
      for (let e = 0; e < examples; e++) {
        const scores = Array.from((result.positionScores.data as Float32Array).subarray(e * per, (e + 1) * per));
        const words = scores.map((v, i) => {
          const id = ids ? Number(ids.data[e * per + i]) : i;
          const token = vocab?.get(id);
          return `${token !== undefined ? printable(token) : `#${id}`} ${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
        });
        lines.push(`tokens     ${examples > 1 ? `example ${e}: ` : ''}${words.join(' | ')}`);
      }
    }
    lines.push(`time       ${seconds.toFixed(2)} s`);
    const extra = { model: a.model, device: explainer.device };
    if (a.json) {
      await fs.writeFile(a.json, JSON.stringify(resultJson(result, { ...extra, ...(labels && result.classes ? { classNames: result.classes.map((c) => labels[c]) } : {}) }), null, 1) + '\n');
      lines.push(`wrote      ${a.json}`);
    }
    if (a.npy) {
      const t = result.heatmap ?? result.attributions[Object.keys(result.attributions)[0]];
      await fs.writeFile(a.npy, encodeNpy({ data: t.data, shape: t.dims, dtype: t.type }));
      lines.push(`wrote      ${a.npy}`);
    }
    if (a.heatmap) {
      // one PNG per example: out.png for one, out_0.png, out_1.png, ... for a batch
      const ext = path.extname(a.heatmap);
      for (let e = 0; e < examples; e++) {
        const file = examples > 1 ? `${a.heatmap.slice(0, a.heatmap.length - ext.length)}_${e}${ext}` : a.heatmap;
        await fs.writeFile(file, heatmapPng(result, feeds, images, e, pictureTitle(a.model, result, e, labels)));
        lines.push(`wrote      ${file}`);
      }
    }
    process.stdout.write(lines.join('\n') + '\n');
    // the result's own doubts go to stderr even with --quiet: a number without them misleads
    for (const w of result.warnings ?? []) process.stderr.write(`onnx-explain: warning: ${w}\n`);
    const open = result.adaptive?.converged.flatMap((c, e) => (c ? [] : [e])) ?? [];
    if (open.length) {
      process.stderr.write(`onnx-explain: warning: example${open.length > 1 ? 's' : ''} ${open.join(', ')} did not converge to tolerance ${result.adaptive!.tolerance} within ${result.steps} steps (error estimate ${open.map((e) => result.adaptive!.errorEstimate[e].toExponential(1)).join(', ')})\n`);
    }
    return result;
  } finally {
    await explainer.release();
  }
}

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('onnx-explain')
    .usage('$0 <command> [options]\n\nExplain what an ONNX model decided, with feature attributions.')
    .command(
      'attribute <model>',
      'Attribute a model\'s output to its input features (Integrated Gradients and friends)',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', { type: 'string', array: true, demandOption: true, describe: 'input file (.npy, .json, .png, .jpg), or NAME=FILE for a model with several inputs (the ones not attributed are held fixed); repeatable' })
          .option('target', { type: 'string', describe: 'class index N, a full index i,j,k over the non-batch axes, or sum; default: the top class' })
          .option('output-name', { type: 'string', describe: 'the model output to explain (default: the first)' })
          .option('method', { choices: METHODS, default: 'ig' as MethodName, describe: `attribution method: ${METHODS.map((m) => `${m} (${METHOD_TABLE[m].label})`).join(', ')}` })
          .option('steps', {
            type: 'string',
            default: '50',
            coerce: (v: string) => {
              if (v === 'auto') return 'auto';
              const n = Number(v);
              if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new Error(`--steps must be a positive integer or auto, got '${v}'`);
              return n;
            },
            describe: `interpolation steps, or auto: as many as the tolerance needs, per example${usedBy('steps')}`,
          })
          .option('tolerance', { type: 'number', coerce: finite('tolerance', { positive: true, below: 1 }), describe: `with --steps auto: relative tolerance on the attributions and the completeness gap (default 0.01)${usedBy('tolerance')}` })
          .option('integration', { choices: INTEGRATION_METHODS, default: 'gausslegendre' as IntegrationMethod, describe: `quadrature rule${usedBy('integration')}` })
          .option('baseline', { type: 'string', describe: `zeros (default) or a file with the baseline; with --at, integer ids give the baseline layer value (e.g. pad tokens)${usedBy('baselines')}` })
          .option('batch-size', { type: 'number', coerce: positiveInt('batch-size', 4096), describe: "rows per session run (interpolation points); bounds memory (default: sized to the model's activations, 1 to 64)" })
          .option('at', { type: 'string', describe: 'attribute at this intermediate tensor (an embedding output); for grad-cam, the convolution output' })
          .option('gradients', { choices: ['auto', 'graph', 'fd'] as const, default: 'auto' as GradientMode, describe: 'graph gradients, finite differences, or graph when every op has a rule' })
          .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as Device, describe: 'execution provider: cuda when available (auto), or force one' })
          .option('samples', { type: 'number', coerce: positiveInt('samples', 100000), describe: `noisy samples or baseline draws${usedBy('samples')}` })
          .option('stdev', { type: 'number', coerce: finite('stdev'), describe: `noise standard deviation${usedBy('stdev')}` })
          .option('labels', { type: 'string', describe: "class names: a text file with one per line, or JSON (a list, or {index: name}); default: the model's metadata when it has them" })
          .option('attribute', { type: 'string', describe: 'the inputs to attribute, NAME,NAME (default: every floating-point input); the others are held fixed' })
          .option('vocab', { type: 'string', describe: 'text models: a JSON vocabulary (token to id) to show each position as its token' })
          .option('max-evaluations', { type: 'number', coerce: positiveInt('max-evaluations'), describe: 'finite differences: refuse a pass that would take more model evaluations than this (default 1000000)' })
          .option('json', { type: 'string', describe: 'write the result as JSON here' })
          .option('npy', { type: 'string', describe: 'write the attributions as float32 .npy here' })
          .option('heatmap', { type: 'string', describe: 'write a PNG heatmap with a colour legend here (image inputs)' })
          .option('resize', { type: 'string', describe: 'image inputs: resize to HxW (default: the model input size when static)' })
          .option('layout', { choices: ['NCHW', 'NHWC'] as const, describe: 'image inputs: tensor layout (default: guessed from the model input)' })
          .option('scale', { type: 'number', coerce: finite('scale', { positive: true }), describe: 'image inputs: divide pixel values by this (default 255)' })
          .option('mean', { type: 'string', describe: 'image inputs: per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406' })
          .option('std', { type: 'string', describe: 'image inputs: per-channel standard deviation, e.g. 0.229,0.224,0.225' })
          .option('grayscale', { type: 'boolean', describe: 'image inputs: one channel (default when the model takes one)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar or notices' }),
      async (a) => {
        await attribute({ ...a, model: a.model, outputName: a['output-name'], batchSize: a['batch-size'], maxEvaluations: a['max-evaluations'] } as AttributeArgs);
      },
    )
    .command(
      'inspect <model>',
      'Show a model\'s inputs, outputs, op types and gradient coverage',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
          .option('tensors', { type: 'boolean', default: false, describe: 'list every intermediate tensor with its op, type and shape (the names --at takes)' })
          .option('input', { type: 'string', array: true, describe: 'with --tensors: run the model on this input to find every shape' })
          .option('quiet', { type: 'boolean', default: false, describe: 'accepted for symmetry with attribute (inspect prints no progress)' }),
      async (a) => inspect(a.model, a.json, a.tensors, a.input),
    )
    .command(
      'run <model>',
      'Run a model on input files and print its outputs',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'an input file (.npy or .json), or NAME=FILE for a model with several inputs; repeatable',
          })
          .option('quiet', { type: 'boolean', default: false, describe: 'accepted for symmetry with attribute (run prints no progress)' }),
      async (a) => printOutputs(await run(a.model, a.input)),
    )
    .command(
      'demo',
      'Explain the shipped digits CNN on a shipped handwritten 3: writes demo-output/digit_3_ig.png and .json',
      (y) => y.option('quiet', { type: 'boolean', default: false }),
      async (a) => {
        const out = path.resolve(REPO_MODELS, '../demo-output');
        await fs.mkdir(out, { recursive: true });
        await attribute({
          model: path.relative(process.cwd(), path.join(REPO_MODELS, 'digits_cnn.onnx')),
          input: [path.relative(process.cwd(), path.join(REPO_MODELS, 'samples/digit_3.npy'))],
          method: 'ig',
          steps: 50,
          integration: 'gausslegendre',
          gradients: 'auto',
          device: 'auto',
          json: path.relative(process.cwd(), path.join(out, 'digit_3_ig.json')),
          heatmap: path.relative(process.cwd(), path.join(out, 'digit_3_ig.png')),
          quiet: a.quiet,
        });
      },
    )
    .demandCommand(1, 'name a command: attribute, inspect, run or demo (see --help)')
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      // one line naming the problem (yargs lists the valid choices in it), not the whole help
      process.stderr.write(`onnx-explain: ${msg.replace(/\s*\n\s*/g, ' ')} (see --help)\n`);
      process.exit(2);
    })
    .parseAsync();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((e: Error) => {
    process.stderr.write(`onnx-explain: ${e.message}\n`);
    process.exit(1);
  });
}
