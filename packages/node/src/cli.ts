/**
 * The onnx-explain command line: the commands and their options. Every
 * command reports bad input as one line on stderr and a non-zero exit, never
 * a stack trace. Reading arguments and inputs is in cli/args.ts, what is
 * printed and written in cli/report.ts.
 */
import * as path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { promises as fs } from 'node:fs';
import {
  summarizeModel,
  parseLabels,
  metadataLabels,
  probeShapes,
  dataTypeName,
  typeShape,
  gradientCoverage,
  describeLowered,
  encodeNpy,
  runOnce,
  INTEGRATION_METHODS,
  METHOD_TABLE,
  METHOD_OPTIONS,
  methodsReading,
  chooseMethod,
  describeTextModel,
  type MethodOptionName,
  type Tensor,
  type IntegrationMethod,
  type GradientMode,
  type IntegratedGradientsOptions,
} from '@onnx-explain/core';
import { loadModelFile } from './modelFile';
import { readInputFile } from './inputFile';
import { OrtNodeRuntime } from './ortRuntime';
import { NodeExplainer, METHODS, toTensor, type MethodName, type ExplainResult } from './explain';
import { isImageFile, loadImage } from './image';
import type { Device } from './runtime';
import { progressBar } from './cli/progress';
import { formatSummary, formatCoverage, printOutputs, stepsText, describeTarget, topFeatures, resultJson, heatmapPng, pictureTitle, gradientsText, perturbationLines, printable } from './cli/report';
import { evaluate, compare, METRICS, type EvaluateArgs, type CompareArgs } from './cli/evaluate';
import { attributeText, generate, type AttributeTextArgs, type GenerateArgs } from './cli/text';
import { readInputs, readVocab, parseTarget, positiveInt, finite, perturbationArgs, type InputArgs, type AttributeArgs } from './cli/args';

/** An option's help, default and the methods that read it ('[ig]'), from the methods table; `asGiven` words it for the command line instead. */
function help(option: MethodOptionName, asGiven?: string): string {
  const o = METHOD_OPTIONS[option];
  const text = asGiven ?? `${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`;
  return `${text} [${methodsReading(option).join(', ')}]`;
}

const REPO_MODELS = path.resolve(__dirname, '../../../models');

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
  const text = describeTextModel(loaded.model, summary);
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, gradientCoverage: coverage, ...(text ? { text } : {}), ...(listing ? { tensors: listing } : {}) }, null, 2) + '\n');
    return;
  }
  const lines = [formatSummary(model, summary), formatCoverage(coverage)];
  if (text) {
    const how = `${text.kind === 'decoder' ? `onnx-explain generate ${model} --tokenizer tokenizer.json --prompt "..."` : `onnx-explain attribute ${model} --tokenizer tokenizer.json --text "..."`}${text.embedding ? '' : ' --method feature-ablation'}`;
    lines.push(
      `text model token ids '${printable(text.ids)}'; ${text.embedding ? `token embedding '${printable(text.embedding)}' (the gradient methods attribute there)` : `no token embedding to attribute at: ${printable(text.noEmbedding!)}`}`,
      `           explain it with: ${printable(how)}`,
    );
  }
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

/** The image preprocessing options every command that reads --input takes. */
function imageOptions<T>(y: Argv<T>) {
  return y
    .option('resize', { type: 'string', describe: 'image inputs: resize to HxW (default: the model input size when static)' })
    .option('layout', { choices: ['NCHW', 'NHWC'] as const, describe: 'image inputs: tensor layout (default: guessed from the model input)' })
    .option('scale', { type: 'number', coerce: finite('scale', { positive: true }), describe: 'image inputs: divide pixel values by this (default 255)' })
    .option('mean', { type: 'string', describe: 'image inputs: per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406' })
    .option('std', { type: 'string', describe: 'image inputs: per-channel standard deviation, e.g. 0.229,0.224,0.225' })
    .option('grayscale', { type: 'boolean', describe: 'image inputs: one channel (default when the model takes one)' });
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
    if (a.baseline !== undefined && a.baseline.trim() !== '' && Number.isFinite(Number(a.baseline))) {
      // a constant: a pixel value, or for token ids the replacement id (pad, unk)
      baselines = Number(a.baseline);
    } else if (a.baseline && a.baseline !== 'zeros') {
      const b = isImageFile(a.baseline)
        ? toTensor((await loadImage(a.baseline, { size: Object.values(images)[0] ? [Object.values(images)[0].height, Object.values(images)[0].width] : undefined, grayscale: Object.values(feeds)[0]?.dims[1] === 1 })).tensor)
        : toTensor(await readInputFile(a.baseline));
      // with --at and integer baseline values, the baseline is model input (pad token ids) whose layer value is used
      baselines = a.at && (b.type === 'int64' || b.type === 'int32') ? { inputs: { ...feeds, [explainer.summary.inputs[0].name]: b } } : b;
    }
    const perturbation = await perturbationArgs(a);
    // 'auto' is resolved here, so the report can say what was chosen and why
    const chosen = a.method === 'auto' ? chooseMethod(explainer.explainer, { output: a.outputName, ...perturbation }) : undefined;
    const method = chosen?.method ?? (a.method as MethodName);
    const bar = progressBar(!a.quiet && process.stderr.isTTY === true);
    const started = Date.now();
    let result: ExplainResult;
    try {
      result = await explainer.explain(feeds, {
        method,
        target: parseTarget(a.target),
        output: a.outputName,
        steps: a.steps,
        tolerance: a.tolerance,
        integration: a.integration,
        baselines,
        internalBatchSize: a.batchSize,
        // a method at a layer it must be given (Grad-CAM's convolution) takes --at as that layer
        at: 'needsLayer' in METHOD_TABLE[method] ? undefined : a.at,
        layer: 'needsLayer' in METHOD_TABLE[method] ? a.at : undefined,
        gradients: a.gradients,
        samples: a.samples,
        stdev: a.stdev,
        maxEvaluations: a.maxEvaluations,
        ...perturbation,
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
      `method     ${result.method}${result.steps ? `, ${stepsText(result)}` : ''}, ${gradientsText(result)}${chosen && chosen.method !== 'ig' ? ` (auto: ${chosen.why})` : ''}`,
      // which output, when there is a choice, and why that one
      `target     ${describeTarget(result, labels)}${
        result.method === 'tree-shap'
          ? `; the trees' ${result.treeOutput === 'raw' ? 'raw scores (before post_transform)' : 'score output'} ('${printable(result.outputName)}')`
          : explainer.summary.outputs.length > 1
            ? `; output '${printable(result.outputName)}'${a.outputName ? '' : ' (the first floating-point output)'}`
            : ''
      }`,
    ];
    if (result.delta) {
      const gap = result.method === 'kernel-shap' || result.algorithm === 'interventional' ? 'F(x) - E[F(background)]' : result.algorithm === 'path-dependent' ? 'F(x) - E[F] under the covers' : 'F(x) - F(baseline)';
      lines.push(`delta      ${result.delta.map((d) => d.toExponential(2)).join(', ')}  (sum of attributions ${result.sum.map((v) => v.toFixed(4)).join(', ')}; ${gap} ${result.outputs.map((v, i) => (v - (result.baselineOutputs?.[i] ?? 0)).toFixed(4)).join(', ')})`);
    }
    lines.push(...perturbationLines(result));
    // one line per example: a batch is reported whole, not by its first row
    const examples = result.outputs.length;
    for (let e = 0; e < examples; e++) lines.push(`largest    ${examples > 1 ? `example ${e}: ` : ''}${topFeatures(result, e).join('; ')}`);
    // per-position scores: a layer attribution's, or a perturbation method's on token ids themselves
    const idsAttributed = Object.keys(result.attributions).find((k) => ['int64', 'int32'].includes(feeds[k]?.type) && feeds[k].dims.length === 2);
    const positions = result.positionScores ?? (idsAttributed ? result.attributions[idsAttributed] : undefined);
    if (positions) {
      // text: each position as its token (from --vocab) or its id, with its score, in reading order
      const per = positions.dims.slice(1).reduce((x, y) => x * y, 1);
      // the token ids: the first integer input with one value per position (not an attention mask over past and present)
      const ids = Object.values(feeds).find((t) => t.type !== 'float32' && t.type !== 'float64' && t.type !== 'bool' && t.data.length === per * t.dims[0]);
      for (let e = 0; e < examples; e++) {
        const scores = Array.from((positions.data as Float32Array).subarray(e * per, (e + 1) * per));
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
      'Attribute a model\'s output to its input features (Integrated Gradients, the gradient family, and perturbation methods for any model)',
      (y) =>
        imageOptions(y)
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', { type: 'string', array: true, describe: 'input file (.npy, .json, .png, .jpg), or NAME=FILE for a model with several inputs (the ones not attributed are held fixed); repeatable' })
          .option('text', { type: 'string', describe: 'text models: the text to explain, tokenized by --tokenizer (instead of --input)' })
          .option('pair', { type: 'string', describe: 'text models: a second text, placed as the tokenizer\'s pair template says' })
          .option('tokenizer', { type: 'string', describe: "text models: the model's tokenizer.json (Hugging Face format; read locally, never fetched)" })
          .option('html', { type: 'string', describe: 'text models: write the tokens coloured by score as a self-contained HTML page here' })
          .option('color', { choices: ['auto', 'always', 'never'] as const, default: 'auto' as const, describe: 'text models: colour tokens by score (auto: on a terminal, unless NO_COLOR is set)' })
          .option('target', { type: 'string', describe: 'class index N, a full index i,j,k over the non-batch axes, or sum; default: the top class' })
          .option('output-name', { type: 'string', describe: 'the model output to explain (default: the first)' })
          .option('method', {
            choices: ['auto', ...METHODS] as const,
            default: 'auto' as MethodName | 'auto',
            describe: `attribution method: auto (ig where the output has a gradient; for a model without one, tree-shap for a tree ensemble, else kernel-shap), ${METHODS.map((m) => `${m} (${METHOD_TABLE[m].label})`).join(', ')}`,
          })
          .option('steps', {
            type: 'string',
            default: '50',
            coerce: (v: string) => {
              if (v === 'auto') return 'auto';
              const n = Number(v);
              if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new Error(`--steps must be a positive integer or auto, got '${v}'`);
              return n;
            },
            describe: help('steps'),
          })
          .option('tolerance', { type: 'number', coerce: finite('tolerance', { positive: true, below: 1 }), describe: help('tolerance') })
          .option('integration', { choices: INTEGRATION_METHODS, default: 'gausslegendre' as IntegrationMethod, describe: help('integration') })
          .option('baseline', { type: 'string', describe: help('baselines', 'zeros (default) or a file with the baseline; with --at, integer ids give the baseline layer value (e.g. pad tokens); with --text: pad (the default when the tokenizer has a padding token), zeros or a token id') })
          .option('batch-size', { type: 'number', coerce: positiveInt('batch-size', 4096), describe: "rows per session run (interpolation points); bounds memory (default: sized to the model's activations, 1 to 64)" })
          .option('at', { type: 'string', describe: 'attribute at this intermediate tensor (an embedding output); for grad-cam and guided-grad-cam, the convolution output' })
          .option('gradients', { choices: ['auto', 'graph', 'fd'] as const, default: 'auto' as GradientMode, describe: 'graph gradients, finite differences, or graph when every op has a rule' })
          .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as Device, describe: 'execution provider: cuda when available (auto), or force one' })
          .option('samples', { type: 'number', coerce: positiveInt('samples', 100000), describe: help('samples') })
          .option('stdev', { type: 'number', coerce: finite('stdev'), describe: help('stdev') })
          .option('window', { type: 'string', describe: help('window', 'the occluding window, one size per axis of an input row, e.g. 4,4 (an image: height,width)') })
          .option('stride', { type: 'string', describe: help('strides', 'steps between windows, per axis like --window, or one number (default 1)') })
          .option('feature-mask', { type: 'string', describe: help('featureMask', 'elements (default), grid:RxC, slic:N, or a file (.npy/.json) of integer ids shaped like one input row, 0..M-1') })
          .option('background', { type: 'string', describe: help('background', 'a file (.npy/.json) of background rows, [K, ...input row]; removed features take each in turn') })
          .option('seed', { type: 'number', coerce: positiveInt('seed', 2 ** 32 - 1), describe: help('seed') })
          .option('output', { choices: ['raw', 'probability'] as const, describe: help('treeOutput') })
          .option('lrp-rule', { type: 'string', array: true, describe: help('layerRules', 'LAYER=RULE[:VALUE], LAYER an op type or node name, RULE epsilon|gamma|alpha1beta0|identity (e.g. Conv=gamma:0.25); repeatable') })
          .option('algorithm', { choices: ['interventional', 'path-dependent'] as const, describe: help('algorithm') })
          .option('kernel-width', { type: 'number', coerce: finite('kernel-width', { positive: true }), describe: help('kernelWidth') })
          .option('ridge', { type: 'number', coerce: finite('ridge'), describe: help('ridge') })
          .option('labels', { type: 'string', describe: "class names: a text file with one per line, or JSON (a list, or {index: name}); default: the model's metadata when it has them" })
          .option('attribute', { type: 'string', describe: 'the inputs to attribute, NAME,NAME (default: every floating-point input); the others are held fixed' })
          .option('vocab', { type: 'string', describe: 'text models: a JSON vocabulary (token to id) to show each position as its token' })
          .option('max-evaluations', { type: 'number', coerce: positiveInt('max-evaluations'), describe: 'finite differences: refuse a pass that would take more model evaluations than this (default 1000000)' })
          .option('json', { type: 'string', describe: 'write the result as JSON here' })
          .option('npy', { type: 'string', describe: 'write the attributions as float32 .npy here' })
          .option('heatmap', { type: 'string', describe: 'write a PNG heatmap with a colour legend here (image inputs)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar or notices' })
          // --input is required unless the text comes with --text: a usage error (exit 2), like yargs' own
          .check((a) => (a.text === undefined && !a.input?.length ? 'Missing required argument: input' : true)),
      async (a) => {
        if (a.text !== undefined) {
          if (a.input?.length) throw new Error('give the text model its text with --text or its inputs with --input, not both');
          await attributeText({ ...a, model: a.model, text: a.text, batchSize: a['batch-size'] } as AttributeTextArgs);
          return;
        }
        await attribute({
          ...a,
          model: a.model,
          outputName: a['output-name'],
          batchSize: a['batch-size'],
          maxEvaluations: a['max-evaluations'],
          featureMask: a['feature-mask'],
          kernelWidth: a['kernel-width'],
          lrpRule: a['lrp-rule'],
        } as AttributeArgs);
      },
    )
    .command(
      'generate <model>',
      "Explain a decoder's continuation of a prompt: each generated token's log-probability attributed to every token before it (a prompt-by-generation matrix)",
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx decoder (logits [batch, sequence, vocabulary]; past key/value inputs are fed empty)' })
          .option('tokenizer', { type: 'string', describe: "the model's tokenizer.json (needed for text prompts and to show tokens)" })
          .option('prompt', { type: 'string', describe: 'the prompt text' })
          .option('prompt-ids', { type: 'string', describe: 'the prompt as token ids, 5,17,300 (instead of --prompt)' })
          .option('max-new-tokens', { type: 'number', default: 8, coerce: positiveInt('max-new-tokens', 1024), describe: 'tokens to generate greedily (stops at the end-of-text token)' })
          .option('continuation', { type: 'string', describe: 'explain this continuation instead of generating one' })
          .option('continuation-ids', { type: 'string', describe: 'the continuation as token ids' })
          .option('method', { choices: ['auto', ...METHODS] as const, default: 'ig' as MethodName | 'auto', describe: 'ig (layer IG at the token embeddings) or another gradient method there; feature-ablation, shapley-sampling, kernel-shap or lime over the tokens for a model without a usable gradient' })
          .option('steps', { type: 'number', default: 50, coerce: positiveInt('steps', 100000), describe: help('steps', 'interpolation steps per generated token') })
          .option('integration', { choices: INTEGRATION_METHODS, default: 'gausslegendre' as IntegrationMethod, describe: help('integration') })
          .option('baseline', { type: 'string', describe: 'zeros (zero embeddings, positions kept; the default for gradient methods) or a token id in place of each token (the default for the perturbation methods: the padding or end-of-text token)' })
          .option('batch-size', { type: 'number', coerce: positiveInt('batch-size', 4096), describe: 'rows per session run' })
          .option('gradients', { choices: ['auto', 'graph', 'fd'] as const, default: 'auto' as GradientMode, describe: 'graph gradients, finite differences, or graph when every op has a rule' })
          .option('output-name', { type: 'string', describe: 'the logits output (default: the first floating-point output)' })
          .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as Device, describe: 'execution provider' })
          .option('json', { type: 'string', describe: 'write the tokens, the generated rows and the matrix as JSON here' })
          .option('html', { type: 'string', describe: 'write the rows and the matrix as a self-contained HTML page here' })
          .option('png', { type: 'string', describe: 'write the matrix as a PNG heatmap here' })
          .option('color', { choices: ['auto', 'always', 'never'] as const, default: 'auto' as const, describe: 'colour tokens by score (auto: on a terminal, unless NO_COLOR is set)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'no progress or notices' }),
      async (a) =>
        generate({
          ...a,
          model: a.model,
          promptIds: a['prompt-ids'],
          maxNewTokens: a['max-new-tokens'],
          continuationIds: a['continuation-ids'],
          batchSize: a['batch-size'],
          logits: a['output-name'],
        } as GenerateArgs),
    )
    .command(
      'evaluate <model>',
      'Measure how far an explanation can be trusted: infidelity, sensitivity-max, deletion and insertion curves, completeness and IG\'s gap against steps, sanity checks by weight randomisation',
      (y) =>
        imageOptions(y)
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', { type: 'string', array: true, demandOption: true, describe: 'input file, or NAME=FILE; repeatable' })
          .option('method', { choices: METHODS, default: 'ig' as MethodName, describe: 'the attribution method evaluated' })
          .option('metrics', { type: 'string', default: 'infidelity,sensitivity,deletion,insertion,completeness', describe: `comma-separated: ${METRICS.join(', ')}` })
          .option('steps', { type: 'number', default: 50, coerce: positiveInt('steps', 100000), describe: help('steps') })
          .option('integration', { choices: INTEGRATION_METHODS, default: 'gausslegendre' as IntegrationMethod, describe: help('integration') })
          .option('target', { type: 'string', describe: 'class index (default: the top class)' })
          .option('baseline', { type: 'number', coerce: (v: unknown) => {
              if (v === undefined) return undefined;
              if (!Number.isFinite(Number(v))) throw new Error(`--baseline must be a number, got '${v}'`);
              return Number(v);
            }, describe: "a constant: the method's baseline, and what deletion and insertion put in place of a feature (default 0)" })
          .option('feature-mask', { type: 'string', describe: 'deletion/insertion features: elements (default), grid:RxC, slic:N' })
          .option('blur', { type: 'number', coerce: finite('blur', { positive: true }), describe: 'deletion/insertion: removed features take a Gaussian blur of the image (this sigma) instead of the baseline constant' })
          .option('samples', { type: 'number', default: 10, coerce: positiveInt('samples', 10000), describe: 'perturbations per example for infidelity and sensitivity' })
          .option('noise-std', { type: 'number', coerce: finite('noise-std', { positive: true }), describe: "infidelity's Gaussian perturbation (default 0.003)" })
          .option('radius', { type: 'number', coerce: finite('radius', { positive: true }), describe: "sensitivity's uniform perturbation radius (default 0.02)" })
          .option('curve-steps', { type: 'number', coerce: positiveInt('curve-steps', 100000), describe: 'points on the deletion/insertion curves (default: every feature, at most 100)' })
          .option('seed', { type: 'number', coerce: positiveInt('seed', 2 ** 32 - 1), describe: 'seed of the perturbations' })
          .option('gradients', { choices: ['auto', 'graph', 'fd'] as const, default: 'auto' as GradientMode, describe: 'graph gradients, finite differences, or graph when every op has a rule' })
          .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as Device, describe: 'execution provider' })
          .option('json', { type: 'string', describe: 'write every metric as JSON here' })
          .option('plot', { type: 'string', describe: 'write the deletion/insertion curves as a PNG here (one per example)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar' }),
      async (a) => evaluate({ ...a, model: a.model, featureMask: a['feature-mask'], noiseStd: a['noise-std'], curveSteps: a['curve-steps'] } as EvaluateArgs),
    )
    .command(
      'compare <model>',
      'How alike two explanations of the same inputs are (two methods on one model, or one method on two exports of a model, e.g. fp32 and fp16): Spearman, top-k overlap, relative L2, SSIM for images',
      (y) =>
        imageOptions(y)
          .positional('model', { type: 'string', demandOption: true, describe: 'path of an .onnx file' })
          .option('input', { type: 'string', array: true, demandOption: true, describe: 'input file, or NAME=FILE; repeatable' })
          .option('other', { type: 'string', describe: 'a second model explained the same way' })
          .option('float16', { type: 'boolean', describe: "compare with a float16 copy of the model made by onnx-explain (float32 in and out)" })
          .option('method', { choices: METHODS, default: 'ig' as MethodName, describe: 'the method (of the first explanation)' })
          .option('other-method', { choices: METHODS, describe: 'a second method on the same model' })
          .option('steps', { type: 'number', default: 50, coerce: positiveInt('steps', 100000), describe: help('steps') })
          .option('target', { type: 'string', describe: "class index (default: the first explanation's top class, used for both)" })
          .option('top-k', { type: 'number', coerce: positiveInt('top-k'), describe: 'elements compared for the top-k overlap (default a tenth)' })
          .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as Device, describe: 'execution provider' })
          .option('json', { type: 'string', describe: 'write the measures as JSON here' })
          .option('quiet', { type: 'boolean', default: false, describe: 'accepted for symmetry' }),
      async (a) => compare({ ...a, model: a.model, otherMethod: a['other-method'], topK: a['top-k'] } as CompareArgs),
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
    .demandCommand(1, 'name a command: attribute, generate, evaluate, compare, inspect, run or demo (see --help)')
    .strict()
    .help()
    .fail((msg, err) => {
      // a command's own error (exit 1); a check's message comes as a string: a usage error like yargs' own (exit 2)
      if (err && typeof err !== 'string') throw err;
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
