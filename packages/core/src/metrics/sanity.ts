/**
 * Sanity checks for attribution maps (Adebayo et al. 2018): randomise the
 * model's learned weights, layer by layer from the output down (cascading)
 * or one layer at a time (independent), explain the same inputs again with
 * the same method and targets, and measure how much the attributions
 * changed (Spearman of magnitudes, SSIM of the per-pixel map for images,
 * relative L2). A method whose maps survive the randomisation of every
 * weight explains the input, not the model: it fails. The weights are
 * rewritten in a copy of the ONNX model (initializers only; the user's model
 * is not touched).
 */
import type { ModelProto, TensorProto } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { makeTensor, tensorToArray, tensorDims } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import type { Tensor } from '../runtime';
import { Explainer } from '../methods/explainer';
import { explainWith, type ExplainOptions } from '../methods/dispatch';
import { asFloat32 } from '../methods/tensors';
import { randomSource } from '../methods/random';
import { throwIfAborted } from '../methods/progress';
import { spearman, ssim, relativeL2, pixelMagnitudes } from './agreement';

/** Ops whose weight initializers are the learned layers randomised. */
const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'LayerNormalization']);

export interface ModelLayer {
  /** The node's name (or its op and index). */
  name: string;
  op: string;
  /** The float initializers it reads (weights, biases, scales). */
  weights: string[];
}

/** The layers with learned float weights, from the output back to the input. */
export function learnedLayers(model: ModelProto): ModelLayer[] {
  const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name!, t]));
  const out: ModelLayer[] = [];
  (model.graph?.node ?? []).forEach((n, i) => {
    if (!LAYER_OPS.has(n.opType ?? '') || n.domain) return;
    const weights = (n.input ?? []).filter((x) => inits.get(x)?.dataType === DataType.FLOAT && tensorDims(inits.get(x)!).reduce((a, b) => a * b, 1) > 1);
    if (weights.length) out.push({ name: n.name || `${n.opType}_${i}`, op: n.opType!, weights });
  });
  return out.reverse();
}

/**
 * A copy of the model with the named layers' weights redrawn: normal values
 * with each tensor's own mean and standard deviation (so activations keep
 * their scale), seeded.
 */
export function randomizeWeights(model: ModelProto, layers: string[], seed = 1): ModelProto {
  const all = learnedLayers(model);
  const chosen = new Set<string>();
  for (const l of layers) {
    const found = all.find((x) => x.name === l);
    if (!found) throw new Error(`no layer '${l}' with learned weights; the model's are ${all.map((x) => `'${x.name}'`).join(', ')}`);
    for (const w of found.weights) chosen.add(w);
  }
  const copy = cloneModel(model);
  const rng = randomSource(seed);
  copy.graph!.initializer = (copy.graph!.initializer ?? []).map((t): TensorProto => {
    if (!chosen.has(t.name!)) return t;
    const v = tensorToArray(t) as Float32Array;
    let mean = 0;
    for (const x of v) mean += x / v.length;
    let sd = 0;
    for (const x of v) sd += (x - mean) ** 2 / v.length;
    sd = Math.sqrt(sd) || 1e-2;
    return makeTensor(t.name!, Float32Array.from(v, () => mean + sd * rng.normal()), tensorDims(t));
  });
  return copy;
}

export interface SanityRow {
  /** The layers randomised for this row (cascading: this one and every one above it). */
  layer: string;
  op: string;
  randomized: string[];
  /** Spearman's rank correlation of the signed attributions with the trained model's. */
  spearman: number;
  /** The same of their magnitudes (Adebayo et al.'s absolute maps; a method that multiplies by the input keeps the input's structure here). */
  spearmanAbs: number;
  /** SSIM of the per-pixel |attribution| maps (summed over channels), for image inputs [N, C, H, W]. */
  ssim?: number;
  relativeL2: number;
}

export interface SanityResult {
  mode: 'cascading' | 'independent';
  method: string;
  rows: SanityRow[];
  /**
   * Cascading only: whether the fully randomised model's maps differ from the
   * trained one's: |Spearman| of the signed maps and, for images, their SSIM
   * both below SANITY_RANK_LIMIT.
   */
  passed?: boolean;
}

/** At or above this rank correlation (or SSIM) with the trained model's maps, a fully randomised model's maps have not changed enough. */
export const SANITY_RANK_LIMIT = 0.5;

export async function sanityCheck(explainer: Explainer, inputs: Record<string, Tensor>, opts: ExplainOptions & { mode?: 'cascading' | 'independent'; seed?: number } = {}): Promise<SanityResult> {
  const mode = opts.mode ?? 'cascading';
  const layers = learnedLayers(explainer.model);
  if (!layers.length) throw new Error('the model has no layers with learned float weights (Conv, Gemm, MatMul, normalisations) to randomise');
  const original = await explainWith(explainer, inputs, opts);
  // the same targets for every model: the trained model's classes
  const target = original.classes ?? opts.target;
  const rows: SanityRow[] = [];
  for (const [k, layer] of layers.entries()) {
    throwIfAborted(opts.signal);
    const randomized = mode === 'cascading' ? layers.slice(0, k + 1).map((l) => l.name) : [layer.name];
    const ex = new Explainer(explainer.runtime, randomizeWeights(explainer.model, randomized, (opts.seed ?? 1) + k));
    try {
      const r = await explainWith(ex, inputs, { ...opts, target, onProgress: undefined });
      const names = Object.keys(original.attributions);
      const a = names.flatMap((n) => Array.from(asFloat32(original.attributions[n])));
      const b = names.flatMap((n) => Array.from(asFloat32(r.attributions[n])));
      const maps = names.length === 1 ? [...Array(original.outputs.length).keys()].map((e) => [pixelMagnitudes(original.attributions[names[0]], e), pixelMagnitudes(r.attributions[names[0]], e)]) : [];
      const s = maps.length && maps[0][0] ? maps.reduce((acc, [m0, m1]) => acc + ssim(m0!.map, m1!.map, m0!.h, m0!.w), 0) / maps.length : undefined;
      rows.push({ layer: layer.name, op: layer.op, randomized, spearman: spearman(a, b), spearmanAbs: spearman(a.map(Math.abs), b.map(Math.abs)), ...(s !== undefined ? { ssim: s } : {}), relativeL2: relativeL2(b, a) });
    } finally {
      await ex.release();
    }
    opts.onProgress?.({ phase: `sanity (${mode})`, done: k + 1, total: layers.length });
  }
  return {
    mode,
    method: original.method,
    rows,
    ...(mode === 'cascading' ? { passed: Math.abs(rows[rows.length - 1].spearman) < SANITY_RANK_LIMIT && (rows[rows.length - 1].ssim ?? 0) < SANITY_RANK_LIMIT } : {}),
  };
}
