/** Normalizations (inference form), Softmax and LogSoftmax. */
import { registerGradient } from '../registry';
import { attrFloat, attrInt, attrInts, nodeLabel } from '../../onnx/attributes';
import { GradientError, type Emitter } from '../emitter';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * d/dx of y = g * (x - mean) / sigma over `axes`, with upstream gradient dy:
 * (1/sigma) (dy g - mean(dy g) - xhat mean(dy g xhat)).
 */
function normalizedGrad(e: Emitter, x: string, gy: string, axes: number[], eps: number): string {
  const mean = e.reduce('ReduceMean', x, axes, true);
  const centered = e.sub(x, mean);
  const variance = e.reduce('ReduceMean', e.mul(centered, centered), axes, true);
  const invStd = e.op('Reciprocal', [e.op('Sqrt', [e.add(variance, e.constF([eps], [], x))])]);
  const xhat = e.mul(centered, invStd);
  const m1 = e.reduce('ReduceMean', gy, axes, true);
  const m2 = e.reduce('ReduceMean', e.mul(gy, xhat), axes, true);
  return e.mul(invStd, e.sub(e.sub(gy, m1), e.mul(xhat, m2)));
}

registerGradient('BatchNormalization', (c) => {
  const e = c.e;
  if (attrInt(c.node, 'training_mode', 0) === 1) {
    throw new GradientError(`${nodeLabel(c.node)}: BatchNormalization in training mode has no gradient rule (export the model in eval mode)`);
  }
  if (c.needs.slice(1).some(Boolean)) {
    throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to BatchNormalization parameters are not supported`);
  }
  const [x, scale, , , variance] = c.x;
  const eps = attrFloat(c.node, 'epsilon', 1e-5);
  // inference: y = (x - mean) / sqrt(var + eps) * scale + bias, per channel (axis 1)
  const factor = e.div(scale, e.op('Sqrt', [e.add(variance, e.constF([eps], [], variance))]));
  const rank = e.rank(x);
  const shaped = e.unsqueeze(factor, range(1, rank - 1));
  return [e.mul(c.dY[0]!, shaped)];
}, { nonDifferentiableOutputs: [1, 2, 3, 4] });

registerGradient('InstanceNormalization', (c) => {
  const e = c.e;
  if (c.needs[1] || c.needs[2]) throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to InstanceNormalization parameters are not supported`);
  const [x, scale] = c.x;
  const rank = e.rank(x);
  const gy = e.mul(c.dY[0]!, e.unsqueeze(scale, range(1, rank - 1)));
  return [normalizedGrad(e, x, gy, range(2, rank), attrFloat(c.node, 'epsilon', 1e-5)), undefined, undefined];
});

registerGradient('LayerNormalization', (c) => {
  const e = c.e;
  if (c.needs[1] || c.needs[2]) throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to LayerNormalization parameters are not supported`);
  if (c.dY[1] || c.dY[2]) throw new GradientError(`${nodeLabel(c.node)}: gradients through LayerNormalization's Mean or InvStdDev outputs are not supported`);
  const [x, scale] = c.x;
  const rank = e.rank(x);
  let axis = attrInt(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  const gy = e.mul(c.dY[0]!, scale);
  return [normalizedGrad(e, x, gy, range(axis, rank), attrFloat(c.node, 'epsilon', 1e-5)), undefined, undefined];
}, { since: 17 });

/** Softmax normalises over `axis` from opset 13 on; before, over all axes from `axis` on (2-D coercion). */
function softmaxAxes(c: Parameters<Parameters<typeof registerGradient>[1]>[0]): number[] {
  const rank = c.e.rank(c.x[0]);
  let axis = attrInt(c.node, 'axis', c.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  return c.opset >= 13 ? [axis] : range(axis, rank);
}

registerGradient('Softmax', (c) => {
  const e = c.e;
  const y = c.y[0];
  const dy = c.dY[0]!;
  const s = e.reduceSum(e.mul(dy, y), softmaxAxes(c), true);
  return [e.mul(y, e.sub(dy, s))];
});

registerGradient('LogSoftmax', (c) => {
  const e = c.e;
  const dy = c.dY[0]!;
  const s = e.reduceSum(dy, softmaxAxes(c), true);
  return [e.sub(dy, e.mul(e.op('Exp', [c.y[0]]), s))];
});

// LpNormalization: y = x / ||x||_p along one axis (p = 1 or 2). With n the norm and g = dY:
// p = 2: dx = (g - y sum(g y)) / n;  p = 1: dx = (g - sign(x) sum(g y)) / n
registerGradient('LpNormalization', (c) => {
  const e = c.e;
  const rank = e.rank(c.x[0]);
  let axis = attrInt(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  const p = attrInt(c.node, 'p', 2);
  if (p !== 1 && p !== 2) throw new GradientError(`${nodeLabel(c.node)}: p must be 1 or 2, got ${p}`);
  const x = c.x[0];
  const y = c.y[0];
  const g = c.dY[0]!;
  const norm = p === 2 ? e.op('Sqrt', [e.reduceSum(e.mul(x, x), [axis], true)]) : e.reduceSum(e.op('Abs', [x]), [axis], true);
  const along = e.reduceSum(e.mul(g, y), [axis], true);
  const direction = p === 2 ? y : e.op('Sign', [x]);
  return [e.div(e.sub(g, e.mul(direction, along)), norm)];
});

// GroupNormalization: the channels in groups, each normalised over its channels
// and the spatial axes, then scaled and shifted per channel (opset 21) or per
// group (opset 18, whose scale and bias have one value a group).
registerGradient('GroupNormalization', (c) => {
  const e = c.e;
  if (c.needs[1] || c.needs[2]) throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to GroupNormalization parameters are not supported`);
  const [x, scale] = c.x;
  const dims = e.shape(x);
  const channels = dims[1];
  const groups = attrInt(c.node, 'num_groups', 1);
  if (typeof channels !== 'number' || channels % groups !== 0) throw new GradientError(`${nodeLabel(c.node)}: needs a static channel count divisible by num_groups (${groups}), got ${channels}`);
  const spatialDims = dims.slice(2);
  if (!spatialDims.every((d) => typeof d === 'number')) throw new GradientError(`${nodeLabel(c.node)}: needs static spatial dimensions, got [${dims.join(', ')}]`);
  const spatial = spatialDims.length;
  // dY times the scale, seen as [N, groups, channels per group, ...spatial]
  const grouped = e.reshape(c.dY[0]!, [-1, groups, channels / groups, ...(spatialDims as number[])]);
  const perGroup = c.opset < 21;
  const s = perGroup ? e.reshape(scale, [1, groups, 1, ...Array(spatial).fill(1)]) : e.reshape(scale, [1, groups, channels / groups, ...Array(spatial).fill(1)]);
  const gy = e.reshape(e.mul(grouped, s), [0, groups, -1]);
  const xg = e.reshape(x, [0, groups, -1]);
  return [e.reshapeLike(normalizedGrad(e, xg, gy, [2], attrFloat(c.node, 'epsilon', 1e-5)), x), undefined, undefined];
}, { since: 18 });

// MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes` (default
// [0, 2, 3]); the 1e-9 changes the gradient by a relative 1e-9 at most, so
// it is the normalisation's gradient with no epsilon. A batch axis among the
// axes mixes rows, which makeBatchable finds and runs one row at a time.
registerGradient('MeanVarianceNormalization', (c) => {
  const e = c.e;
  const rank = e.rank(c.x[0]);
  const axes = attrInts(c.node, 'axes', [0, 2, 3]).map((a) => (a < 0 ? a + rank : a));
  return [normalizedGrad(e, c.x[0], c.dY[0]!, axes, 0)];
}, { since: 9 });

// RMSNormalization (opset 23): y = scale x / sqrt(mean(x^2) + eps) over the axes from `axis` on.
// With r = 1 / sqrt(mean(x^2) + eps) and gy = dY scale: dx = r gy - r^3 x mean(gy x).
registerGradient('RMSNormalization', (c) => {
  const e = c.e;
  if (c.needs[1]) throw new GradientError(`${nodeLabel(c.node)}: gradients with respect to RMSNormalization's scale are not supported`);
  const [x, scale] = c.x;
  const rank = e.rank(x);
  let axis = attrInt(c.node, 'axis', -1);
  if (axis < 0) axis += rank;
  const axes = range(axis, rank);
  const r = e.op('Reciprocal', [e.op('Sqrt', [e.add(e.reduce('ReduceMean', e.mul(x, x), axes, true), e.constF([attrFloat(c.node, 'epsilon', 1e-5)], [], x))])]);
  const gy = e.mul(c.dY[0]!, scale);
  const r3 = e.mul(r, e.mul(r, r));
  return [e.sub(e.mul(r, gy), e.mul(e.mul(r3, x), e.reduce('ReduceMean', e.mul(gy, x), axes, true))), undefined];
}, { since: 23 });

// LRN: y_c = x_c d_c^-beta, d_c = bias + alpha/size * (sum of x^2 over the
// channels c - floor((size-1)/2) .. c + ceil((size-1)/2)). So
// dx_k = g_k d_k^-beta - (2 alpha beta / size) x_k * (sum over the c whose
// window holds k of g_c x_c d_c^(-beta-1)): the same window, mirrored.
// onnxruntime runs odd sizes only, where the window is symmetric; the uneven
// windows of even sizes follow the spec but no runtime here checks them.
registerGradient('LRN', (c) => {
  const e = c.e;
  const x = c.x[0];
  const channels = e.shape(x)[1];
  if (typeof channels !== 'number') throw new GradientError(`${nodeLabel(c.node)}: needs a static channel count`);
  const size = attrInt(c.node, 'size', 1);
  const alpha = attrFloat(c.node, 'alpha', 1e-4);
  const beta = attrFloat(c.node, 'beta', 0.75);
  const bias = attrFloat(c.node, 'bias', 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const rank = e.rank(x);
  // sum over channels j - before .. j + after, zeros outside
  const windowSum = (t: string, before: number, after: number) => {
    const padded = e.pad(t, [0, before, ...Array(rank - 2).fill(0), 0, after, ...Array(rank - 2).fill(0)]);
    return e.sumAll(Array.from({ length: before + after + 1 }, (_, o) => e.slice(padded, [o], [o + channels], [1])));
  };
  const d = e.add(e.constF([bias], [], x), e.scale(windowSum(e.mul(x, x), lo, hi), alpha / size));
  const g = c.dY[0]!;
  const direct = e.mul(g, e.op('Pow', [d, e.constF([-beta], [], x)]));
  const through = windowSum(e.mul(e.mul(g, x), e.op('Pow', [d, e.constF([-beta - 1], [], x)])), hi, lo);
  return [e.sub(direct, e.mul(e.scale(x, (2 * alpha * beta) / size), through))];
});
