/**
 * The CLI's arguments: option coercions that refuse nonsense by name, the
 * target and list syntaxes, and reading --input files (NAME=FILE, images
 * preprocessed to fit the model) and --vocab.
 */

import { checkInput, type ModelSummary, type Tensor, type TargetSpec, type IntegrationMethod, type GradientMode, type ExplainOptions, type LrpLayerRule } from '@onnx-explain/core';
import { readInputFile } from '../inputFile';
import { toTensor, type MethodName } from '../explain';
import { isImageFile, loadImage, type LoadedImage } from '../image';
import type { Device } from '../runtime';

export function parseTarget(t: string | undefined): TargetSpec | undefined {
  if (t === undefined) return undefined;
  if (t === 'sum') return 'sum';
  if (/^\d+$/.test(t)) return Number(t);
  if (/^\d+(,\d+)+$/.test(t)) return { index: t.split(',').map(Number) };
  throw new Error(`--target '${t}' is not a class index (3), an index over the output's non-batch axes (0,2,1) or 'sum'`);
}

/** yargs coercions that refuse what would run into NaN or nonsense later, naming the option and the value. */
export const positiveInt = (flag: string, max = Number.MAX_SAFE_INTEGER) => (v: unknown) => {
  const n = Number(v);
  if (v === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${flag} must be a whole number from 1 to ${max.toLocaleString('en-US')}, got '${v}'`);
  return n;
};

export const finite = (flag: string, { positive = false, below }: { positive?: boolean; below?: number } = {}) => (v: unknown) => {
  const n = Number(v);
  if (v === undefined) return undefined;
  if (!Number.isFinite(n) || (positive ? n <= 0 : n < 0) || (below !== undefined && n >= below)) {
    throw new Error(`--${flag} must be a ${positive ? 'positive' : 'non-negative'} number${below !== undefined ? ` below ${below}` : ''}, got '${v}'`);
  }
  return n;
};

export function parseList(v: string | undefined, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(/[,x]/).map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (xs.some((n) => !Number.isFinite(n))) throw new Error(`${what} '${v}' is not a list of numbers`);
  return xs;
}

export interface AttributeArgs {
  model: string;
  input: string[];
  target?: string;
  outputName?: string;
  method: MethodName | 'auto';
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
  window?: string;
  stride?: string;
  featureMask?: string;
  background?: string;
  seed?: number;
  kernelWidth?: number;
  ridge?: number;
  output?: 'raw' | 'probability';
  algorithm?: 'interventional' | 'path-dependent';
  lrpRule?: string[];
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

export type InputArgs = Pick<AttributeArgs, 'input' | 'resize' | 'layout' | 'scale' | 'mean' | 'std' | 'grayscale'>;

/** Reads --input values: NAME=FILE or FILE (for the inputs in order); images are preprocessed to fit the model. */
export async function readInputs(a: InputArgs, summary: ModelSummary) {
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
export function readVocab(text: string, file: string): Map<number, string> {
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

/** The perturbation and tree methods' options from --window, --stride, --feature-mask, --background, --seed, --kernel-width, --ridge, --output and --algorithm. */
export async function perturbationArgs(a: AttributeArgs): Promise<Partial<ExplainOptions>> {
  const whole = (v: string | undefined, flag: string) => {
    const xs = parseList(v, flag);
    if (xs?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${flag} takes positive whole numbers, e.g. 4,4; got '${v}'`);
    return xs;
  };
  const out: Partial<ExplainOptions> = {};
  const window = whole(a.window, '--window');
  if (window) out.window = window;
  const stride = whole(a.stride, '--stride');
  if (stride) out.strides = stride.length === 1 ? stride[0] : stride;
  if (a.featureMask !== undefined) {
    const spec = a.featureMask;
    out.featureMask = spec === 'elements' || /^(grid|slic):/.test(spec) ? spec : toTensor(await readInputFile(spec));
  }
  if (a.background !== undefined) out.background = toTensor(await readInputFile(a.background));
  if (a.seed !== undefined) out.seed = a.seed;
  if (a.kernelWidth !== undefined) out.kernelWidth = a.kernelWidth;
  if (a.ridge !== undefined) out.ridge = a.ridge;
  if (a.lrpRule?.length) out.layerRules = Object.fromEntries(a.lrpRule.map(parseLrpRule));
  if (a.output !== undefined) out.treeOutput = a.output;
  if (a.algorithm !== undefined) out.algorithm = a.algorithm;
  return out;
}

/** --lrp-rule LAYER=RULE[:VALUE]: Conv=gamma:0.25, /classifier/Gemm=epsilon:1e-3, Conv=alpha1beta0, BatchNormalization=identity. */
export function parseLrpRule(spec: string): [string, LrpLayerRule] {
  const m = /^(.+)=(epsilon|gamma|alpha1beta0|identity)(?::(.+))?$/.exec(spec);
  if (!m) throw new Error(`--lrp-rule '${spec}' is not LAYER=RULE[:VALUE] with RULE one of epsilon, gamma, alpha1beta0, identity (e.g. Conv=gamma:0.25)`);
  const [, layer, rule, value] = m;
  const v = value === undefined ? undefined : Number(value);
  if (value !== undefined && (!Number.isFinite(v) || v! < 0 || !['epsilon', 'gamma'].includes(rule))) {
    throw new Error(`--lrp-rule '${spec}': ${['epsilon', 'gamma'].includes(rule) ? 'the value must be a number >= 0' : `${rule} takes no value`}`);
  }
  if (rule === 'epsilon') return [layer, { rule, epsilon: v }];
  if (rule === 'gamma') return [layer, { rule, gamma: v }];
  return [layer, { rule } as LrpLayerRule];
}
