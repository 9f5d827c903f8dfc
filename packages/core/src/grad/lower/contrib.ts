/**
 * onnxruntime's fused transformer ops (com.microsoft, ContribOperators.md),
 * and the layer norms it registers in the default domain before opset 17,
 * spelled out in standard ops: the GELU family, the skip / simplified layer
 * norms, EmbedLayerNormalization. Attention lives in attention.ts.
 */
import { DataType } from '../../onnx/types';
import { makeTensor } from '../../onnx/tensor';
import { attrFloat, attrInt, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';
import { registerLowering, type LowerContext } from './registry';

const MS = 'com.microsoft';

/** The element type of the node's first input (the float type the lowering computes in). */
const typeOf = (c: LowerContext) => c.e.elemType(c.x[0]);
const k = (c: LowerContext, v: number) => c.e.constF([v], [], typeOf(c));

/** a + b, with b optional. */
const plus = (e: Emitter, a: string, b: string | undefined) => (b ? e.add(a, b) : a);

/**
 * Normalizes x over its last axis (rank known): layer norm (x - mean) /
 * sqrt(var + eps), or, simplified, RMS norm x / sqrt(mean(x^2) + eps).
 * Returns the normalized tensor, the mean (layer norm) and 1/sqrt(...), all
 * with the last axis kept (size 1), as onnxruntime's optional outputs are.
 */
export function normalizeLast(e: Emitter, x: string, rank: number, eps: number, simplified: boolean, type: number): { y: string; mean?: string; invStd: string } {
  const axes = [rank - 1];
  const epsC = e.constF([eps], [], type);
  if (simplified) {
    const invStd = e.op('Reciprocal', [e.op('Sqrt', [e.add(e.reduce('ReduceMean', e.mul(x, x), axes, true), epsC)])]);
    return { y: e.mul(x, invStd), invStd };
  }
  const mean = e.reduce('ReduceMean', x, axes, true);
  const d = e.sub(x, mean);
  const invStd = e.op('Reciprocal', [e.op('Sqrt', [e.add(e.reduce('ReduceMean', e.mul(d, d), axes, true), epsC)])]);
  return { y: e.mul(d, invStd), mean, invStd };
}

// ---- the GELU family

/** 0.5 x (1 + erf(x / sqrt 2)) */
function geluErf(c: LowerContext, x: string): string {
  const e = c.e;
  return e.mul(e.mul(x, k(c, 0.5)), e.add(k(c, 1), e.op('Erf', [e.mul(x, k(c, Math.SQRT1_2))])));
}

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
function geluTanh(c: LowerContext, x: string): string {
  const e = c.e;
  const a = Math.sqrt(2 / Math.PI);
  const inner = e.mul(x, e.add(k(c, a), e.mul(k(c, a * 0.044715), e.mul(x, x))));
  return e.mul(e.mul(x, k(c, 0.5)), e.add(k(c, 1), e.op('Tanh', [inner])));
}

registerLowering('Gelu', (c) => [geluErf(c, c.x[0])], { domain: MS });
registerLowering('BiasGelu', (c) => [geluErf(c, c.e.add(c.x[0], c.x[1]))], { domain: MS });
registerLowering('FastGelu', (c) => [geluTanh(c, plus(c.e, c.x[0], c.x[1] || undefined))], { domain: MS });
registerLowering('QuickGelu', (c) => [c.e.mul(c.x[0], c.e.op('Sigmoid', [c.e.mul(c.x[0], k(c, attrFloat(c.node, 'alpha', 1.702)))]))], { domain: MS });

// ---- layer norms

/** Output y[i] of a fused op, or the tensor the lowering computed. */
function skipNorm(c: LowerContext, simplified: boolean): (string | undefined)[] {
  const e = c.e;
  const [input, skip, gamma] = c.x;
  const beta = simplified ? undefined : c.x[3] || undefined;
  const bias = (simplified ? c.x[3] : c.x[4]) || undefined;
  const rank = e.rank(input);
  let sum = plus(e, e.add(input, skip), bias);
  // input_skip_bias_sum (output 3) is what the next block adds its residual to: keep its name, so cuts there hold
  if (c.y[3]) {
    e.nodes.push({ opType: 'Identity', input: [sum], output: [c.y[3]], name: e.fresh('sum') });
    sum = c.y[3];
  }
  const n = normalizeLast(e, sum, rank, attrFloat(c.node, 'epsilon', 1e-12), simplified, typeOf(c));
  const y = plus(e, e.mul(n.y, gamma), beta);
  return [y, n.mean, n.invStd, sum];
}

registerLowering('SkipLayerNormalization', (c) => skipNorm(c, false), { domain: MS });
registerLowering('SkipSimplifiedLayerNormalization', (c) => skipNorm(c, true), { domain: MS });

/** LayerNormalization and SimplifiedLayerNormalization as onnxruntime runs them in the default domain before opset 17. */
function layerNorm(c: LowerContext, simplified: boolean): (string | undefined)[] {
  const e = c.e;
  const [x, scale] = c.x;
  const bias = simplified ? undefined : c.x[2] || undefined;
  const rank = e.rank(x);
  let axis = attrInt(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  if (axis !== rank - 1) throw new GradientError(`${nodeLabel(c.node)}: normalizing from axis ${axis} of a rank-${rank} tensor is not lowered (only the last axis)`);
  const n = normalizeLast(e, x, rank, attrFloat(c.node, 'epsilon', 1e-5), simplified, typeOf(c));
  const y = plus(e, e.mul(n.y, scale), bias);
  return simplified ? [y, n.invStd] : [y, n.mean, n.invStd];
}

registerLowering('LayerNormalization', (c) => layerNorm(c, false));
registerLowering('SimplifiedLayerNormalization', (c) => layerNorm(c, true));
registerLowering('LayerNormalization', (c) => layerNorm(c, false), { domain: MS });
registerLowering('SimplifiedLayerNormalization', (c) => layerNorm(c, true), { domain: MS });

// ---- EmbedLayerNormalization

/**
 * Word + position (+ segment) embeddings, summed (output 2, embedding_sum,
 * under its own name so that a layer attribution cut there feeds the norm),
 * then layer-normalized (output 0); output 1 counts each row's mask (zeros
 * without a mask).
 */
registerLowering(
  'EmbedLayerNormalization',
  (c) => {
    const e = c.e;
    const [ids, segIds, wordEmb, posEmb, segEmb, gamma, beta, mask, posIds] = c.x;
    const type = e.elemType(wordEmb);
    const idDims = e.shape(ids);
    const seq = idDims[1];
    if (typeof seq !== 'number') throw new GradientError(`${nodeLabel(c.node)}: the sequence length of '${ids}' is not fixed ([${idDims.join(', ')}])`);
    let sum = e.op('Gather', [wordEmb, ids], { axis: 0 });
    // positions 0..S-1 unless given
    sum = e.add(sum, posIds ? e.op('Gather', [posEmb, posIds], { axis: 0 }) : e.slice(posEmb, [0], [seq], [0]));
    if (segIds && segEmb) sum = e.add(sum, e.op('Gather', [segEmb, segIds], { axis: 0 }));
    if (c.y[2]) {
      e.nodes.push({ opType: 'Identity', input: [sum], output: [c.y[2]], name: e.fresh('embedding_sum') });
      sum = c.y[2];
    }
    const n = normalizeLast(e, sum, 3, attrFloat(c.node, 'epsilon', 1e-12), false, type);
    const y = plus(e, e.mul(n.y, gamma), beta || undefined);
    let maskIndex: string | undefined;
    if (c.y[1]) {
      maskIndex = mask
        ? e.reduceSum(e.op('Cast', [mask], { to: DataType.INT32 }), [1], false)
        : e.op('ConstantOfShape', [e.slice(e.op('Shape', [ids]), [0], [1], [0])], { value: makeTensor('', Int32Array.from([0]), [1]) });
    }
    return [y, maskIndex, c.y[2] ? sum : undefined];
  },
  { domain: MS },
);
