/**
 * The dashboard's Evaluate section (issue 16): how far the explanation just
 * shown can be trusted, measured with core's metrics on the same model,
 * input and options: infidelity, sensitivity-max, the deletion and insertion
 * curves with their areas, and completeness. Each number comes with one line
 * on how to read it, and the two curves are drawn on a canvas.
 *
 * The metrics perturb the model's own (float) inputs, so they are offered
 * only for attributions of those inputs: not for a layer (a text model's
 * embedding output) nor for token ids. Everything is put on the page as
 * text nodes (../dom.ts).
 */
import {
  infidelity,
  sensitivityMax,
  deletionCurve,
  completenessOf,
  renderCurves,
  METHOD_TABLE,
  type Explainer,
  type ExplainOptions,
  type ExplainResult,
  type Tensor,
  type CurveResult,
  type Completeness,
} from '@onnx-explain/core';
import { h, replace, type Child } from '../dom';
import { toImageData } from '../view';

/** What a run of the dashboard leaves behind for evaluating it. */
export interface EvaluableRun {
  explainer: Explainer;
  /** The feeds the explanation ran on. */
  inputs: Record<string, Tensor>;
  result: ExplainResult;
  /** The options it ran with (method, steps, integration, baselines, feature mask ...), without signal and progress. */
  options: ExplainOptions;
}

export interface EvaluateReport {
  method: string;
  infidelity: number;
  sensitivity: number;
  deletion: CurveResult;
  insertion: CurveResult;
  completeness?: Completeness;
  /** The feature mask the curves removed features by. */
  featureMask: string;
}

interface Progress {
  phase: string;
  done: number;
  total: number;
}

/** Why the metrics do not apply to a run, or undefined when they do. */
export function evaluateUnavailable(run: EvaluableRun | undefined, textRun: boolean): string | undefined {
  if (textRun) return 'Evaluation needs attributions of the model’s own inputs: a text run explains tokens through the embedding layer.';
  if (!run) return 'Run an explanation first.';
  const names = Object.keys(run.result.attributions);
  const layer = names.filter((n) => !run.inputs[n]);
  if (layer.length) return `Evaluation needs attributions of the model’s own inputs; these are at a layer (${layer.join(', ')}), which the metrics cannot perturb.`;
  const notFloat = names.filter((n) => run.inputs[n].type !== 'float32');
  if (notFloat.length) return `Evaluation perturbs float inputs with small noise; ${notFloat.join(', ')} ${notFloat.length > 1 ? 'are' : 'is'} not float (token ids), so it does not apply.`;
  if (run.result.outputs.length !== 1) return 'Evaluation here takes one example at a time.';
  return undefined;
}

/**
 * The feature mask the curves use: the run's own when its method read one,
 * else elements, and for a large image a grid of cells (one curve point per
 * cell rather than per pixel keeps it quick).
 */
export function curveFeatureMask(run: EvaluableRun): string {
  // the table's name the run was given ('ig'); the result's method is its long name
  const method = run.options.method as keyof typeof METHOD_TABLE;
  const reads = (METHOD_TABLE[method]?.options ?? []) as readonly string[];
  const own = typeof run.options.featureMask === 'string' ? run.options.featureMask : undefined;
  if (reads.includes('featureMask') && own && own !== 'elements') return own;
  const name = Object.keys(run.result.attributions)[0];
  const dims = run.inputs[name].dims;
  if (dims.length === 4 && dims[2] * dims[3] > 256) return `grid:${Math.min(8, dims[2])}x${Math.min(8, dims[3])}`;
  return 'elements';
}

/** Every metric in turn on the run's model, input and attributions; `signal` stops between and within them. */
export async function evaluateRun(run: EvaluableRun, io: { signal?: AbortSignal; onProgress?: (e: Progress) => void } = {}): Promise<EvaluateReport> {
  const { explainer, inputs, result } = run;
  const target = result.classes ?? run.options.target;
  const baselines = typeof run.options.baselines === 'number' ? run.options.baselines : undefined;
  const featureMask = curveFeatureMask(run);
  const total = 4;
  const step = (k: number, name: string) => (e: Progress) => io.onProgress?.({ phase: `${k}/${total} ${name}: ${e.phase}`, done: e.done, total: e.total });
  const common = { target, signal: io.signal };
  const inf = await infidelity(explainer, inputs, result.attributions, { ...common, samples: 10, seed: 1, baselines, onProgress: step(1, 'infidelity') });
  const { signal: _s, onProgress: _p, ...runOptions } = run.options;
  const sens = await sensitivityMax(explainer, inputs, { ...runOptions, ...common, perturbSamples: 5, perturbSeed: 1, onProgress: step(2, 'sensitivity') });
  const deletion = await deletionCurve(explainer, inputs, result.attributions, { ...common, mode: 'deletion', featureMask, baselines, onProgress: step(3, 'deletion') });
  const insertion = await deletionCurve(explainer, inputs, result.attributions, { ...common, mode: 'insertion', featureMask, baselines, onProgress: step(4, 'insertion') });
  return { method: result.method, infidelity: inf.infidelity[0], sensitivity: sens.sensitivity[0], deletion, insertion, completeness: completenessOf(result), featureMask };
}

const fmt = (v: number) => (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential(4) : v.toPrecision(5));

function metricRow(id: string, name: string, value: number | undefined, shown: string, meaning: string): HTMLElement {
  const row = h('div', { id, className: 'metric' }, h('span', { className: 'metric-name' }, name), ' ', h('b', { className: 'metric-value' }, shown), h('div', { className: 'muted metric-help' }, meaning));
  if (value !== undefined) row.dataset.value = String(value);
  return row;
}

/** Draws the deletion and insertion curves on a canvas sized to the plot. */
export function drawCurves(canvas: HTMLCanvasElement, report: EvaluateReport): void {
  const img = renderCurves(
    [report.deletion, report.insertion].map((c) => ({ label: `${c.mode} AUC ${fmt(c.auc[0])}`, xs: c.fractions, ys: c.values[0] })),
    { title: `${report.method}: deletion and insertion` },
  );
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(toImageData(img), 0, 0);
}

/** The report in `container`: a line per metric with what it means, and the curves. */
export function renderEvaluation(container: HTMLElement, report: EvaluateReport): void {
  const c = report.completeness;
  const feats = `${report.deletion.features} features (${report.featureMask})`;
  const rows: Child[] = [
    metricRow('metric-infidelity', 'Infidelity', report.infidelity, fmt(report.infidelity), 'Mean squared gap between what the attributions predict for a small random change of the input (10 Gaussian perturbations, std 0.003) and the output’s actual change. Lower is better.'),
    metricRow('metric-sensitivity', 'Sensitivity-max', report.sensitivity, fmt(report.sensitivity), 'Largest relative change of the explanation when the input moves by up to ±0.02 (5 samples). Lower is steadier.'),
    metricRow('metric-deletion', 'Deletion AUC', report.deletion.auc[0], fmt(report.deletion.auc[0]), `Area under the explained output as the ${feats} are set to the baseline, most relevant first. Lower is better: the output should fall fast.`),
    metricRow('metric-insertion', 'Insertion AUC', report.insertion.auc[0], fmt(report.insertion.auc[0]), `Area under the explained output as the ${feats} are put back into the baseline, most relevant first. Higher is better: the output should rise fast.`),
    c
      ? metricRow('metric-completeness', 'Completeness gap', c.delta[0], `${fmt(c.delta[0])} (${(100 * c.relative[0]).toPrecision(3)} % of the output change)`, 'Sum of the attributions less the output change they should account for. Closer to zero is better.')
      : metricRow('metric-completeness', 'Completeness', undefined, 'not promised', `${report.method} does not promise that its attributions sum to the output change, so there is no gap to measure.`),
  ];
  const canvas = h('canvas', { id: 'evaluate-curves' });
  drawCurves(canvas, report);
  replace(container, h('div', { className: 'metrics' }, ...rows), h('figure', {}, canvas, h('figcaption', {}, 'The explained output against the fraction of features removed (deletion) or restored (insertion), most relevant first.')));
}

/** The button's state and the note beside it for the current run (an empty results area). */
export function resetEvaluate(button: HTMLButtonElement, note: HTMLElement, view: HTMLElement, why: string | undefined): void {
  button.disabled = why !== undefined;
  note.textContent = why ?? 'Measures infidelity, sensitivity, the deletion and insertion curves and completeness for this explanation; it runs the model a few hundred times.';
  view.replaceChildren();
}
