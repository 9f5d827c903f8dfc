/**
 * Romberg integration on [0, 1] for vector-valued integrands, the nested rule
 * behind adaptive Integrated Gradients (`steps: 'auto'`).
 *
 * Why Romberg: its points are nested (level k adds the 2^(k-1) midpoints of
 * level k-1, so every gradient already computed is reused), it needs to keep
 * only one vector per level (trapezoid sums), not one per point, and the
 * difference of successive extrapolated estimates is an error estimate at no
 * extra cost. The endpoints 0 and 1 are points of the rule, so F(x') and F(x)
 * come out of the same rows. Gauss rules are more accurate per point but not
 * nested; Gauss-Kronrod reuses one level only.
 *
 * On a smooth path the diagonal R(k, k) converges like h^(2k+2); on a path with
 * kinks (ReLU networks) the extrapolation gains little and the rule behaves
 * like the trapezoid rule, O(h^2), and the error estimate still follows it.
 */

/** The points level k adds: 0 and 1 at level 0, then the odd multiples of 2^-k. */
export function rombergPoints(level: number): number[] {
  if (!Number.isInteger(level) || level < 0) throw new RangeError(`Romberg level must be a non-negative integer, got ${level}`);
  if (level === 0) return [0, 1];
  const m = 2 ** (level - 1);
  return Array.from({ length: m }, (_, i) => (2 * i + 1) / (2 * m));
}

/** Points evaluated in all, through level k: 2^k + 1. */
export function rombergPointCount(level: number): number {
  return 2 ** level + 1;
}

/**
 * The Romberg table of one integrand of length `size`: feed it each level's
 * sum of integrand values at rombergPoints(level), in order.
 */
export class RombergTable {
  /** Last row of the table, R(k, 0..k). */
  private row: Float64Array[] = [];
  private previousBest: Float64Array | undefined;
  private trapezoid: Float64Array | undefined;
  /** Levels added so far. */
  levels = 0;

  constructor(readonly size: number) {}

  /** Adds the sum of integrand values at the points of the next level. */
  addLevel(sum: Float64Array): void {
    if (sum.length !== this.size) throw new RangeError(`level sum has ${sum.length} values, the table ${this.size}`);
    const k = this.levels;
    const t = new Float64Array(this.size);
    if (k === 0) {
      // T_0 = (f(0) + f(1)) / 2
      for (let i = 0; i < this.size; i++) t[i] = 0.5 * sum[i];
    } else {
      // T_k = T_(k-1) / 2 + h_k * (sum of the new midpoints), h_k = 2^-k
      const h = 2 ** -k;
      for (let i = 0; i < this.size; i++) t[i] = 0.5 * this.trapezoid![i] + h * sum[i];
    }
    this.trapezoid = t;
    const next: Float64Array[] = [t];
    for (let j = 1; j <= k; j++) {
      const a = next[j - 1];
      const b = this.row[j - 1];
      const c = 4 ** j - 1;
      const r = new Float64Array(this.size);
      for (let i = 0; i < this.size; i++) r[i] = a[i] + (a[i] - b[i]) / c;
      next.push(r);
    }
    this.previousBest = this.row[this.row.length - 1];
    this.row = next;
    this.levels = k + 1;
  }

  /** The best estimate so far, R(k, k). */
  best(): Float64Array {
    if (!this.levels) throw new Error('the Romberg table is empty');
    return this.row[this.row.length - 1];
  }

  /** R(k, k) - R(k-1, k-1): the error estimate (undefined before two levels). */
  change(): Float64Array | undefined {
    if (!this.previousBest) return undefined;
    const best = this.best();
    return best.map((v, i) => v - this.previousBest![i]);
  }
}
