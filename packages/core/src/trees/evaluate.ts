/**
 * A forest's outputs for one row, as onnxruntime computes them: leaf
 * weights added per target in float32, tree by tree (or kept as the least or
 * greatest, for MIN / MAX), AVERAGE divided by the number of trees, base
 * values added, then the post transform; a binary classifier's one raw score
 * spread over its two columns. onnxruntime may add its trees in parallel
 * chunks, so its float32 sums can differ from these in the last bit.
 */
import { leafOf, type Forest } from './forest';

const f32 = (v: number, double: boolean) => (double ? v : Math.fround(v));

/** The raw scores (aggregated leaf weights plus base values, before the post transform), one per target. */
export function rawScores(forest: Forest, row: ArrayLike<number>): Float64Array {
  return scoresWithFlags(forest, row).scores;
}

/** Raw scores, and which targets some leaf reached (onnxruntime writes an unreached regressor target as 0, whatever its base). */
function scoresWithFlags(forest: Forest, row: ArrayLike<number>): { scores: Float64Array; reached: Uint8Array } {
  const d = forest.double;
  const n = forest.nTargets;
  const acc = new Float64Array(n);
  const seen = new Uint8Array(n);
  for (const tree of forest.trees) {
    const leaf = leafOf(tree, row);
    const targets = tree.leafTargets[leaf];
    const weights = tree.leafWeights[leaf];
    for (let k = 0; k < targets.length; k++) {
      const t = targets[k];
      const w = weights[k];
      if (forest.aggregate === 'MIN') acc[t] = seen[t] ? Math.min(acc[t], w) : w;
      else if (forest.aggregate === 'MAX') acc[t] = seen[t] ? Math.max(acc[t], w) : w;
      else acc[t] = f32(acc[t] + w, d);
      seen[t] = 1;
    }
  }
  const classifier = forest.opType === 'TreeEnsembleClassifier';
  for (let t = 0; t < n; t++) {
    if (!seen[t] && !classifier) continue;
    if (forest.aggregate === 'AVERAGE') acc[t] = f32(acc[t] / forest.trees.length, d);
    acc[t] = f32(acc[t] + forest.base[t], d);
  }
  return { scores: acc, reached: seen };
}

// onnxruntime's transforms (ml_common.h), in float32 step by step; its expf and logf are glibc's,
// which are not correctly rounded, so a transformed score can differ from these in the last bit
const logistic = (v: number) => {
  const p = Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-Math.abs(v)))));
  return v < 0 ? Math.fround(1 - p) : p;
};

/** erf^-1 as onnxruntime's ComputeProbit approximates it (Winitzki, a = 0.147), in float32. */
function erfInv(x: number): number {
  const f = Math.fround;
  const sgn = x < 0 ? -1 : 1;
  x = f(f(1 - x) * f(1 + x));
  const log = f(Math.log(x));
  const v = f(f(2 / f(f(Math.PI) * f(0.147))) + f(0.5 * log));
  const v2 = f(f(1 / f(0.147)) * log);
  return sgn * f(Math.sqrt(f(-v + f(Math.sqrt(f(f(v * v) - v2))))));
}
const probit = (p: number) => Math.fround(Math.fround(Math.SQRT2) * erfInv(Math.fround(Math.fround(2 * p) - 1)));

function softmax(r: number[], zero: boolean): number[] {
  const f = Math.fround;
  const max = Math.max(...r.filter((v) => !Number.isNaN(v)));
  const e0 = f(Math.exp(-max));
  let sum = 0;
  const e = r.map((v) => {
    const x = zero && !(Math.abs(v) > 1e-7) ? f(v * e0) : f(Math.exp(f(v - max)));
    sum = f(sum + x);
    return x;
  });
  return e.map((v) => f(v / sum));
}

/**
 * The score output (onnxruntime's Z / Y) from the raw scores. As onnxruntime
 * (1.30) does: with one score, LOGISTIC and SOFTMAX are not applied (only
 * PROBIT is); a binary classifier's one raw score s gives [1 - s, s] when
 * every weight is >= 0 ([1 - sigma(s), sigma(s)] under LOGISTIC), else
 * [-s, s] ([sigma(-s), sigma(s)] under LOGISTIC).
 */
export function transformScores(forest: Forest, raw: Float64Array): Float64Array {
  const d = forest.double;
  const r = Array.from(raw, (v) => f32(v, d));
  if (forest.binary) {
    const s = r[0];
    // onnxruntime writes only the first column under PROBIT; its second holds whatever was in memory: 0 here
    if (forest.postTransform === 'PROBIT') return Float64Array.of(probit(s), 0);
    const positive = forest.trees.every((t) => t.leafWeights.every((w) => w.every((v) => v >= 0)));
    if (forest.postTransform === 'LOGISTIC') return positive ? Float64Array.of(Math.fround(1 - logistic(s)), logistic(s)) : Float64Array.of(logistic(-s), logistic(s));
    return positive ? Float64Array.of(Math.fround(1 - s), s) : Float64Array.of(-s, s);
  }
  if (r.length === 1) return Float64Array.of(forest.postTransform === 'PROBIT' ? probit(r[0]) : r[0]);
  switch (forest.postTransform) {
    case 'NONE':
      return Float64Array.from(r);
    case 'LOGISTIC':
      return Float64Array.from(r, logistic);
    case 'SOFTMAX':
      return Float64Array.from(softmax(r, false));
    case 'SOFTMAX_ZERO':
      return Float64Array.from(softmax(r, true));
    case 'PROBIT':
      return Float64Array.from(r, probit);
  }
}

/** The score output for one row. */
export function forestScores(forest: Forest, row: ArrayLike<number>): Float64Array {
  return transformScores(forest, rawScores(forest, row));
}
