/**
 * Weighted (ridge) least squares in float64, for the surrogate fits of LIME
 * and KernelSHAP: the normal equations solved by Gaussian elimination with
 * partial pivoting. Small systems (one unknown per feature), so nothing
 * cleverer is needed; a singular system is refused with why, never answered
 * with NaN.
 */

export class SingularSystemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SingularSystemError';
  }
}

export interface LeastSquaresFit {
  coef: Float64Array;
  intercept: number;
  /** Weighted coefficient of determination of the fit (1: exact). */
  r2: number;
}

/**
 * Minimises sum_r w_r (y_r - b0 - sum_k X[r][k] b_k)^2 + ridge * sum_k b_k^2,
 * b0 fitted (and not penalised) when `intercept`, else 0.
 */
export function weightedLeastSquares(X: Float64Array[], y: Float64Array, w: Float64Array, opts: { intercept: boolean; ridge?: number }): LeastSquaresFit {
  const p = X.length ? X[0].length : 0;
  const q = p + (opts.intercept ? 1 : 0);
  const ridge = opts.ridge ?? 0;
  // normal equations A b = c over columns [X, 1]
  const A = Array.from({ length: q }, () => new Float64Array(q));
  const c = new Float64Array(q);
  const col = (r: number, k: number) => (k < p ? X[r][k] : 1);
  for (let r = 0; r < X.length; r++) {
    const wr = w[r];
    if (!wr) continue;
    for (let i = 0; i < q; i++) {
      const xi = col(r, i) * wr;
      if (!xi) continue;
      c[i] += xi * y[r];
      for (let k = i; k < q; k++) A[i][k] += xi * col(r, k);
    }
  }
  for (let i = 0; i < q; i++) for (let k = 0; k < i; k++) A[i][k] = A[k][i];
  for (let i = 0; i < p; i++) A[i][i] += ridge;
  const b = solve(A, c);
  const coef = b.subarray(0, p);
  const intercept = opts.intercept ? b[p] : 0;
  // weighted R^2 around the weighted mean, as scikit-learn's score with sample weights
  let sw = 0;
  let mean = 0;
  for (let r = 0; r < y.length; r++) {
    sw += w[r];
    mean += w[r] * y[r];
  }
  mean /= sw || 1;
  let res = 0;
  let tot = 0;
  for (let r = 0; r < y.length; r++) {
    let fit = intercept;
    for (let k = 0; k < p; k++) fit += X[r][k] * coef[k];
    res += w[r] * (y[r] - fit) ** 2;
    tot += w[r] * (y[r] - mean) ** 2;
  }
  return { coef: Float64Array.from(coef), intercept, r2: tot > 0 ? 1 - res / tot : res === 0 ? 1 : 0 };
}

/** Solves A x = c (A square), refusing a system singular to working precision. */
export function solve(A: Float64Array[], c: Float64Array): Float64Array {
  const n = c.length;
  const M = A.map((row, i) => Float64Array.from([...row, c[i]]));
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(M[i][i]));
  for (let k = 0; k < n; k++) {
    let best = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i][k]) > Math.abs(M[best][k])) best = i;
    if (!(Math.abs(M[best][k]) > 1e-12 * scale)) {
      throw new SingularSystemError(`the least-squares system is singular (unknown ${k} of ${n} is not determined by the samples)`);
    }
    [M[k], M[best]] = [M[best], M[k]];
    for (let i = k + 1; i < n; i++) {
      const f = M[i][k] / M[k][k];
      if (!f) continue;
      for (let j = k; j <= n; j++) M[i][j] -= f * M[k][j];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x;
}
