/**
 * Adaptive step count for Integrated Gradients (`steps: 'auto'`): Romberg
 * levels (romberg.ts) are added per example until its attributions settle and
 * its completeness gap closes, so an easy example stops at 5 points and a
 * curved one goes on, and no gradient is computed twice.
 *
 * An example is converged at level k >= 2 (5 points) when both
 *  - the change of its attributions from level k-1 to k, in relative L2, is at
 *    most `tolerance` (this estimates the error of level k-1, so it is
 *    conservative for level k), and
 *  - its completeness gap |sum(attr) - (F(x) - F(x'))| is at most
 *    `tolerance` * |F(x) - F(x')| (plus float32 noise, 1e-6 of |F|).
 * The gap alone can close by cancellation while single attributions are still
 * off; the change alone does not look at the model's own values.
 */
import { RombergTable, rombergPoints, rombergPointCount } from './romberg';

export interface AdaptiveStepsOptions {
  /** Relative tolerance on the attributions' change and on the completeness gap (default 0.01). */
  tolerance?: number;
  /** Most points per example (default 1025, Romberg level 10); examples not converged by then say so. */
  maxSteps?: number;
}

export interface AdaptiveStepsReport {
  tolerance: number;
  /** Points (gradient evaluations) each example took. */
  stepsPerExample: number[];
  converged: boolean[];
  /** The last relative change of each example's attributions. */
  errorEstimate: number[];
}

/** A row to evaluate: the path point alpha of example `example`. */
export interface PathRow {
  example: number;
  alpha: number;
}

/**
 * Evaluates rows and hands back their gradients batch by batch (rows
 * [start, start + n) of `rows`, per attributed tensor) and the selected
 * output value of every row.
 */
export type EvaluateRows = (
  rows: PathRow[],
  consume: (start: number, n: number, grads: Record<string, Float32Array>) => void,
) => Promise<Float64Array>;

export interface AdaptiveIntegral {
  /** Path integral of the gradient per attributed tensor (examples concatenated, row size as `diff`). */
  integral: Record<string, Float64Array>;
  /** F at alpha = 0 (the baseline) and at alpha = 1 (the input), per example. */
  atBaseline: Float64Array;
  atInput: Float64Array;
  report: AdaptiveStepsReport;
}

export const MIN_LEVEL = 2;

export function resolveAdaptive(opts: AdaptiveStepsOptions): { tolerance: number; maxLevel: number } {
  const tolerance = opts.tolerance ?? 0.01;
  if (!(tolerance > 0 && tolerance < 1)) throw new RangeError(`tolerance must be in (0, 1), got ${tolerance}`);
  const maxSteps = opts.maxSteps ?? 1025;
  if (!Number.isInteger(maxSteps) || maxSteps < rombergPointCount(MIN_LEVEL)) {
    throw new RangeError(`maxSteps must be an integer of at least ${rombergPointCount(MIN_LEVEL)} with steps: 'auto', got ${maxSteps}`);
  }
  return { tolerance, maxLevel: Math.floor(Math.log2(maxSteps - 1)) };
}

/**
 * Integrates the gradient along the straight path of each example.
 * `diff[w]` holds x - x' per attributed tensor (examples concatenated): the
 * convergence test weighs gradients by it, as the attributions do.
 */
export async function integrateAdaptive(
  examples: number,
  diff: Record<string, Float32Array>,
  evaluate: EvaluateRows,
  opts: AdaptiveStepsOptions = {},
): Promise<AdaptiveIntegral> {
  const { tolerance, maxLevel } = resolveAdaptive(opts);
  const names = Object.keys(diff);
  const per = Object.fromEntries(names.map((w) => [w, diff[w].length / examples]));
  const total = names.reduce((s, w) => s + per[w], 0);
  // one table per example over all attributed tensors laid end to end
  const tables = Array.from({ length: examples }, () => new RombergTable(total));
  const offset: Record<string, number> = {};
  names.reduce((o, w) => ((offset[w] = o), o + per[w]), 0);
  const atBaseline = new Float64Array(examples);
  const atInput = new Float64Array(examples);
  const converged = new Array<boolean>(examples).fill(false);
  const errorEstimate = new Array<number>(examples).fill(Infinity);

  const diffOf = (e: number) => {
    const d = new Float64Array(total);
    for (const w of names) d.set(diff[w].subarray(e * per[w], (e + 1) * per[w]), offset[w]);
    return d;
  };

  for (let level = 0; level <= maxLevel; ) {
    // the first round takes levels 0 to MIN_LEVEL at once: a test needs them all
    const last = level === 0 ? Math.min(MIN_LEVEL, maxLevel) : level;
    const open = Array.from({ length: examples }, (_, e) => e).filter((e) => !converged[e]);
    if (!open.length) break;
    const rows: PathRow[] = [];
    const levelOf: number[] = [];
    for (const e of open) {
      for (let k = level; k <= last; k++) {
        for (const alpha of rombergPoints(k)) {
          rows.push({ example: e, alpha });
          levelOf.push(k);
        }
      }
    }
    // sums of gradient values per (example, level)
    const sums = new Map<number, Float64Array[]>(open.map((e) => [e, Array.from({ length: last - level + 1 }, () => new Float64Array(total))]));
    const selected = await evaluate(rows, (start, n, grads) => {
      for (let j = 0; j < n; j++) {
        const row = rows[start + j];
        const acc = sums.get(row.example)![levelOf[start + j] - level];
        for (const w of names) {
          const g = grads[w].subarray(j * per[w], (j + 1) * per[w]);
          const o = offset[w];
          for (let i = 0; i < g.length; i++) acc[o + i] += g[i];
        }
      }
    });
    rows.forEach((r, j) => {
      if (r.alpha === 0) atBaseline[r.example] = selected[j];
      else if (r.alpha === 1) atInput[r.example] = selected[j];
    });
    for (const e of open) {
      const table = tables[e];
      for (const s of sums.get(e)!) table.addLevel(s);
      const change = table.change();
      if (!change || table.levels - 1 < MIN_LEVEL) continue;
      const d = diffOf(e);
      const best = table.best();
      let attr2 = 0;
      let change2 = 0;
      let sum = 0;
      for (let i = 0; i < total; i++) {
        const a = d[i] * best[i];
        attr2 += a * a;
        change2 += (d[i] * change[i]) ** 2;
        sum += a;
      }
      const err = attr2 > 0 ? Math.sqrt(change2 / attr2) : change2 > 0 ? Infinity : 0;
      errorEstimate[e] = err;
      const gain = atInput[e] - atBaseline[e];
      const gap = Math.abs(sum - gain);
      const noise = 1e-6 * Math.max(Math.abs(atInput[e]), Math.abs(atBaseline[e]));
      converged[e] = err <= tolerance && gap <= tolerance * Math.abs(gain) + noise;
    }
    level = last + 1;
  }

  const integral: Record<string, Float64Array> = {};
  for (const w of names) integral[w] = new Float64Array(diff[w].length);
  tables.forEach((t, e) => {
    const best = t.best();
    for (const w of names) integral[w].set(best.subarray(offset[w], offset[w] + per[w]), e * per[w]);
  });
  return {
    integral,
    atBaseline,
    atInput,
    report: {
      tolerance,
      stepsPerExample: tables.map((t) => rombergPointCount(t.levels - 1)),
      converged,
      errorEstimate,
    },
  };
}
