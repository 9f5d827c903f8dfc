/**
 * Completeness as a measurement: the gap between the sum of attributions
 * and the change of the output they account for, for every method that
 * promises it (IG, DeepLift, DeepLiftShap, GradientSHAP in expectation,
 * KernelSHAP and Shapley sampling by construction, LRP against F(x)), and
 * IG's gap against its number of steps, so a user sees how many are enough.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from '../methods/explainer';
import { explainWith, type ExplainOptions, type ExplainResult } from '../methods/dispatch';
import { throwIfAborted } from '../methods/progress';

export interface Completeness {
  /** Sum of attributions less the change it accounts for, per example (the method's own delta). */
  delta: number[];
  /** |delta| over |F(x) - F(baseline)| (LRP: over |F(x)|), per example. */
  relative: number[];
}

/** The completeness of a result, or undefined for a method that promises none (saliency, Grad-CAM, occlusion, LIME). */
export function completenessOf(r: ExplainResult): Completeness | undefined {
  if (!r.delta) return undefined;
  const change = r.outputs.map((f, e) => (r.baselineOutputs ? f - r.baselineOutputs[e] : f));
  return { delta: r.delta, relative: r.delta.map((d, e) => Math.abs(d) / Math.max(Math.abs(change[e]), 1e-30)) };
}

export interface ConvergenceRow extends Completeness {
  steps: number;
}

/** IG's completeness gap at each number of steps (default 4, 8, ..., 256), same baseline and rule. */
export async function igConvergence(explainer: Explainer, inputs: Record<string, Tensor>, opts: ExplainOptions & { stepsList?: number[] } = {}): Promise<ConvergenceRow[]> {
  const list = opts.stepsList ?? [4, 8, 16, 32, 64, 128, 256];
  if (!list.length || list.some((s) => !Number.isInteger(s) || s < 1)) throw new RangeError(`steps must be positive whole numbers, got ${list.join(', ')}`);
  const rows: ConvergenceRow[] = [];
  for (const [k, steps] of list.entries()) {
    throwIfAborted(opts.signal);
    const r = await explainWith(explainer, inputs, { ...opts, method: 'ig', steps, onProgress: undefined });
    rows.push({ steps, ...completenessOf(r)! });
    opts.onProgress?.({ phase: 'completeness against steps', done: k + 1, total: list.length });
  }
  return rows;
}
