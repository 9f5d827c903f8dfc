/**
 * Integrated Gradients (Sundararajan, Taly and Yan 2017):
 *   attr_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da,
 * approximated with a quadrature rule whose points are run as batches of rows
 * through one session. Completeness, sum(attr) = F(x) - F(x'), is reported as
 * `delta` = sum(attr) - (F(x) - F(x')) for every example.
 */
import type { Tensor } from '../runtime';
import { quadrature, type IntegrationMethod } from './quadrature';
import { Explainer, type CommonOptions } from './explainer';
import { rowSize, asFloat32 } from './tensors';
import type { GradientEngine } from './engine';
import { integrateAdaptive, resolveAdaptive, type AdaptiveStepsOptions, type AdaptiveStepsReport } from './adaptiveSteps';
import { baselineFor, pointFeeds, exampleRows, resultBase, completenessWarnings, type AttributionResult, type Baseline } from './common';

export interface IntegratedGradientsResult extends AttributionResult {
  /** Points per example; with steps: 'auto', the most any example took. */
  steps: number;
  integration: IntegrationMethod | 'romberg';
  /** With steps: 'auto': points, convergence and error estimate per example. */
  adaptive?: AdaptiveStepsReport;
  /** F(x') per example (averaged over baselines). */
  baselineOutputs: number[];
  /** sum(attributions) - (F(x) - F(x')) per example. */
  delta: number[];
}

export interface IntegratedGradientsOptions extends CommonOptions, AdaptiveStepsOptions {
  /**
   * Interpolation points (default 50), or 'auto': nested Romberg levels per
   * example until the attributions and the completeness gap are within
   * `tolerance` (adaptiveSteps.ts); `integration` is then ignored.
   */
  steps?: number | 'auto';
  /** Quadrature rule (default gausslegendre). */
  integration?: IntegrationMethod;
  /** Baseline, or several (their attributions are averaged). Default: zeros. */
  baselines?: Baseline | Baseline[];
}
/** |x - x'| of each row's example, for finite-difference steps. */
function scaleRows(
  xs: Record<string, Float32Array>,
  base: Record<string, Float32Array>,
  attributed: string[],
  feeds: Record<string, Tensor>,
  start: number,
  n: number,
  exampleOf: (row: number) => number,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const w of attributed) {
    const per = rowSize(feeds[w]);
    const data = new Float32Array(n * per);
    for (let j = 0; j < n; j++) {
      const e = exampleOf(start + j);
      for (let i = 0; i < per; i++) data[j * per + i] = Math.abs(xs[w][e * per + i] - base[w][e * per + i]);
    }
    out[w] = data;
  }
  return out;
}

/** What one baseline contributes: the path integral of the gradient, and F(x'), F(x) when its rows gave them. */
interface PathIntegral {
  integral: Record<string, Float64Array>;
  atBaseline?: Float64Array;
  atInput?: Float64Array;
  report?: AdaptiveStepsReport;
}

interface PathContext {
  explainer: Explainer;
  engine: GradientEngine;
  feeds: Record<string, Tensor>;
  attributed: string[];
  batch: number;
  classOf: (example: number) => number;
  xs: Record<string, Float32Array>;
  opts: IntegratedGradientsOptions;
  phase: string;
}

/**
 * The row builder for points on the straight paths: row j is example
 * exampleOf(j) at alpha alphaOf(j), its other inputs as given. The ends are
 * set exactly (b + 1 * (x - b) need not round to x in float32), so rows at
 * alpha 0 and 1 give F(x') and F(x). Finite differences take their step from
 * each feature's |x - x'|.
 */
function pathRows(c: PathContext, base: Record<string, Float32Array>, exampleOf: (row: number) => number, alphaOf: (row: number) => number) {
  const { feeds, attributed, xs, engine } = c;
  return (start: number, n: number) => ({
    feeds: pointFeeds(feeds, attributed, start, n, exampleOf, (w, j, out) => {
      const e = exampleOf(j);
      const a = alphaOf(j);
      const per = out.length;
      const x = xs[w].subarray(e * per, (e + 1) * per);
      const b = base[w].subarray(e * per, (e + 1) * per);
      if (a === 1) out.set(x);
      else if (a === 0) out.set(b);
      else for (let i = 0; i < per; i++) out[i] = b[i] + a * (x[i] - b[i]);
    }),
    classes: Array.from({ length: n }, (_, j) => c.classOf(exampleOf(start + j))),
    scales: engine.source === 'fd' ? scaleRows(xs, base, attributed, feeds, start, n, exampleOf) : undefined,
  });
}

/** The integral with a fixed quadrature rule: every (example, point) pair is a row, row j = example * steps + k. */
async function fixedSteps(c: PathContext, base: Record<string, Float32Array>, steps: number, withInput: boolean): Promise<PathIntegral> {
  const { explainer, engine, feeds, attributed, batch, xs, opts } = c;
  const { alphas, weights } = quadrature(opts.integration ?? 'gausslegendre', steps);
  const points = batch * steps;
  // With graph gradients, F(x') (and, once, F(x)) ride along as extra rows of
  // the same runs: fewer session calls, which is what small models pay for.
  // Finite differences would differentiate those rows too, so they run apart.
  const fold = engine.source === 'graph';
  const extra = fold ? batch * (withInput ? 2 : 1) : 0;
  // weighted gradients are summed batch by batch: memory follows internalBatchSize, not steps
  const integral: Record<string, Float64Array> = {};
  for (const w of attributed) integral[w] = new Float64Array(xs[w].length);
  // rows past the points are F(x') then F(x) of each example (points is a multiple of batch)
  const exampleOf = (j: number) => (j < points ? Math.floor(j / steps) : j % batch);
  const run = await explainer.runRows(
    engine,
    points + extra,
    pathRows(c, base, exampleOf, (j) => (j >= points + batch ? 1 : j >= points ? 0 : alphas[j % steps])),
    opts,
    c.phase,
    true,
    (start, n, grads) => {
      for (const w of attributed) {
        const per = rowSize(feeds[w]);
        const g = grads[w];
        for (let j = 0; j < n && start + j < points; j++) {
          const e = Math.floor((start + j) / steps);
          const weight = weights[(start + j) % steps];
          const acc = integral[w].subarray(e * per, (e + 1) * per);
          for (let i = 0; i < per; i++) acc[i] += weight * g[j * per + i];
        }
      }
    },
  );
  if (!fold) return { integral };
  return {
    integral,
    atBaseline: run.selected.slice(points, points + batch),
    atInput: withInput ? run.selected.slice(points + batch, points + 2 * batch) : undefined,
  };
}

/** The integral with nested Romberg levels per example (steps: 'auto'); the ends of the path give F(x') and F(x). */
async function adaptiveSteps(c: PathContext, base: Record<string, Float32Array>): Promise<PathIntegral> {
  const { explainer, engine, attributed, batch, xs, opts } = c;
  const diff: Record<string, Float32Array> = {};
  for (const w of attributed) diff[w] = xs[w].map((v, i) => v - base[w][i]);
  return integrateAdaptive(
    batch,
    diff,
    async (rows, consume) => {
      const exampleOf = (j: number) => rows[j].example;
      const run = await explainer.runRows(
        engine,
        rows.length,
        pathRows(c, base, exampleOf, (j) => rows[j].alpha),
        opts,
        c.phase,
        true,
        consume,
      );
      return run.selected;
    },
    opts,
  );
}

/** Reports of several baselines as one: points summed, converged only if every baseline was. */
function mergeReports(reports: AdaptiveStepsReport[]): AdaptiveStepsReport {
  const first = reports[0];
  return {
    tolerance: first.tolerance,
    stepsPerExample: first.stepsPerExample.map((_, e) => reports.reduce((s, r) => s + r.stepsPerExample[e], 0)),
    converged: first.converged.map((_, e) => reports.every((r) => r.converged[e])),
    errorEstimate: first.errorEstimate.map((_, e) => Math.max(...reports.map((r) => r.errorEstimate[e]))),
  };
}

export async function integratedGradients(
  explainer: Explainer,
  inputs: Record<string, Tensor>,
  opts: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  const batch = explainer.validate(inputs);
  const steps = opts.steps ?? 50;
  const integration = opts.integration ?? 'gausslegendre';
  // options are checked before any work
  if (steps === 'auto') resolveAdaptive(opts);
  else quadrature(integration, steps);
  opts.onProgress?.({ phase: 'preparing', done: 0, total: 1 });
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const attributed = engine.attributed;
  const baselines = Array.isArray(opts.baselines) ? opts.baselines : [opts.baselines ?? 'zeros'];

  const xs: Record<string, Float32Array> = {};
  for (const w of attributed) xs[w] = asFloat32(feeds[w]);
  const attr: Record<string, Float32Array> = {};
  for (const w of attributed) attr[w] = new Float32Array(xs[w].length);
  const baselineOut = new Float64Array(batch);
  let fx: Float64Array | undefined;
  const reports: AdaptiveStepsReport[] = [];

  for (const [bi, baseline] of baselines.entries()) {
    const base: Record<string, Float32Array> = {};
    for (const w of attributed) base[w] = await baselineFor(explainer, engine, baseline, w, feeds[w]);
    const context: PathContext = {
      explainer,
      engine,
      feeds,
      attributed,
      batch,
      classOf: (e) => (classes ? classes[e] : 0),
      xs,
      opts,
      phase: baselines.length > 1 ? `integrating (baseline ${bi + 1} of ${baselines.length})` : 'integrating',
    };
    const path = steps === 'auto' ? await adaptiveSteps(context, base) : await fixedSteps(context, base, steps, bi === 0);
    if (path.report) reports.push(path.report);
    for (const w of attributed) {
      for (let i = 0; i < xs[w].length; i++) attr[w][i] += ((xs[w][i] - base[w][i]) * path.integral[w][i]) / baselines.length;
    }
    let fb = path.atBaseline;
    if (!fb) fb = (await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, base), opts, 'baseline outputs', false)).selected;
    for (let e = 0; e < batch; e++) baselineOut[e] += fb[e] / baselines.length;
    fx ??= path.atInput;
  }
  if (!fx) {
    fx = (await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, xs), opts, 'outputs', false)).selected;
  }
  const attributions: Record<string, Tensor> = {};
  for (const w of attributed) attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: attr[w] };
  const res = resultBase('integrated-gradients', explainer, engine, opts.target, classes, attributions, fx, opts.internalBatchSize);
  const adaptive = reports.length ? mergeReports(reports) : undefined;
  const delta = res.sum.map((s, e) => s - (fx![e] - baselineOut[e]));
  const warnings = completenessWarnings(delta, Array.from(fx, (v, e) => v - baselineOut[e]), engine.source);
  return {
    ...res,
    steps: adaptive ? Math.max(...adaptive.stepsPerExample) : (steps as number),
    integration: adaptive ? 'romberg' : integration,
    ...(adaptive ? { adaptive } : {}),
    baselineOutputs: Array.from(baselineOut),
    delta,
    ...(warnings.length ? { warnings } : {}),
  };
}

