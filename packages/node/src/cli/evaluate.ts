/**
 * `onnx-explain evaluate`: how far an explanation can be trusted, measured
 * (infidelity, sensitivity-max, deletion and insertion curves with their
 * areas, completeness and IG's gap against steps, sanity checks by weight
 * randomisation), and `onnx-explain compare`: how alike two explanations
 * are (two methods on one model, or one method on two exports of a model).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  infidelity,
  sensitivityMax,
  deletionCurve,
  roadCurve,
  sanityCheck,
  igConvergence,
  completenessOf,
  agreement,
  ssim,
  pixelMagnitudes,
  renderCurves,
  toFloat16,
  type ExplainOptions,
  type IntegrationMethod,
  type GradientMode,
} from '@onnx-explain/core';
import { NodeExplainer, type MethodName } from '../explain';
import { encodePng } from '../image';
import type { Device } from '../runtime';
import { readInputs, parseTarget, type InputArgs } from './args';
import { progressBar } from './progress';

export const METRICS = ['infidelity', 'sensitivity', 'deletion', 'insertion', 'road', 'completeness', 'sanity'] as const;
export type MetricName = (typeof METRICS)[number];

export interface EvaluateArgs extends InputArgs {
  model: string;
  method: MethodName;
  metrics: string;
  steps: number;
  integration: IntegrationMethod;
  target?: string;
  baseline?: number;
  featureMask?: string;
  /** Deletion/insertion fill removed features from a Gaussian blur of the image (sigma). */
  blur?: number;
  samples: number;
  noiseStd?: number;
  radius?: number;
  curveSteps?: number;
  seed?: number;
  gradients: GradientMode;
  device: Device;
  json?: string;
  plot?: string;
  quiet: boolean;
}

export function parseMetrics(v: string): MetricName[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((m) => !(METRICS as readonly string[]).includes(m));
  if (!list.length || bad.length) throw new Error(`--metrics takes a list of ${METRICS.join(', ')}; ${bad.length ? `'${bad.join("', '")}' is not one` : 'none given'}`);
  return [...new Set(list)] as MetricName[];
}

const fmt = (v: number) => (Math.abs(v) >= 1e-2 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(2));

export async function evaluate(a: EvaluateArgs): Promise<void> {
  const metrics = parseMetrics(a.metrics);
  const explainer = await NodeExplainer.load(a.model, { device: a.device });
  const bar = progressBar(!a.quiet && process.stderr.isTTY === true);
  try {
    const { feeds } = await readInputs(a, explainer.summary);
    const ex = explainer.explainer;
    const common: ExplainOptions = { method: a.method, steps: a.steps, integration: a.integration, target: parseTarget(a.target), gradients: a.gradients, baselines: a.baseline, seed: a.seed, onProgress: (e) => bar.update(e) };
    const result = await explainer.explain(feeds, common);
    const target = result.classes ?? common.target;
    const lines = [`model      ${a.model} (${explainer.device})`, `method     ${result.method}${result.steps ? `, ${result.steps} steps` : ''}; target ${result.classes ? `class ${result.classes.join(', ')}` : String(a.target)}`];
    const out: Record<string, unknown> = { model: a.model, method: result.method, classes: result.classes, outputs: result.outputs };
    const perExample = (vs: number[]) => vs.map((v, e) => (vs.length > 1 ? `example ${e}: ${fmt(v)}` : fmt(v))).join('; ');
    const curves: Record<string, { xs: number[]; ys: number[] }[]> = {};
    try {
      for (const m of metrics) {
        if (m === 'infidelity') {
          const r = await infidelity(ex, feeds, result.attributions, { target, samples: a.samples, noiseStd: a.noiseStd, seed: a.seed, baselines: a.baseline, onProgress: (e) => bar.update(e) });
          lines.push(`infidelity ${perExample(r.infidelity)}  (${r.samples} Gaussian perturbations, std ${a.noiseStd ?? 0.003}; lower is better)`);
          out.infidelity = r;
        } else if (m === 'sensitivity') {
          const r = await sensitivityMax(ex, feeds, { ...common, target, perturbSamples: a.samples, perturbSeed: a.seed, radius: a.radius });
          lines.push(`sensitivity ${perExample(r.sensitivity)}  (max over ${r.samples} uniform perturbations within ${a.radius ?? 0.02}; lower is steadier)`);
          out.sensitivity = { sensitivity: r.sensitivity, samples: r.samples };
        } else if (m === 'deletion' || m === 'insertion') {
          const r = await deletionCurve(ex, feeds, result.attributions, { target, mode: m, featureMask: a.featureMask, baselines: a.blur !== undefined ? { blur: a.blur } : a.baseline, steps: a.curveSteps, onProgress: (e) => bar.update(e) });
          lines.push(`${m.padEnd(10)} AUC ${perExample(r.auc)}  (${r.features} features, most relevant first, ${r.fractions.length - 1} steps${a.blur !== undefined ? `, from a blur of sigma ${a.blur}` : ''}; ${m === 'deletion' ? 'lower' : 'higher'} is better)`);
          out[m] = r;
          curves[m] = r.values.map((ys) => ({ xs: r.fractions, ys }));
        } else if (m === 'road') {
          const r = await roadCurve(ex, feeds, result.attributions, { target, seed: a.seed, onProgress: (e) => bar.update(e) });
          lines.push(`road       AUC ${perExample(r.auc)}  (pixels removed most relevant first, 10% to 90%, imputed from their neighbours with noise; lower is better)`);
          out.road = r;
          curves.road = r.values.map((ys) => ({ xs: r.fractions, ys }));
        } else if (m === 'completeness') {
          const c = completenessOf(result);
          lines.push(c ? `complete   delta ${perExample(c.delta)}  (${perExample(c.relative.map((v) => 100 * v))} % of the output change)` : `complete   ${result.method} promises no completeness (its attributions need not sum to the output change)`);
          const conv = await igConvergence(ex, feeds, { ...common, target });
          lines.push(`IG steps   ${conv.map((r) => `${r.steps}: ${(100 * Math.max(...r.relative)).toPrecision(2)}%`).join(', ')}  (largest completeness gap over the examples)`);
          out.completeness = { ...(c ?? {}), igConvergence: conv };
        } else if (m === 'sanity') {
          const r = await sanityCheck(ex, feeds, { ...common, target, mode: 'cascading' });
          for (const row of r.rows) lines.push(`sanity     ${row.randomized.length} layer${row.randomized.length > 1 ? 's' : ''} randomised (to ${row.layer}): Spearman ${row.spearman.toFixed(3)}, of magnitudes ${row.spearmanAbs.toFixed(3)}${row.ssim !== undefined ? `, SSIM ${row.ssim.toFixed(3)}` : ''}`);
          lines.push(`sanity     ${r.passed ? 'passed' : 'FAILED'}: with every layer randomised the maps ${r.passed ? 'no longer' : 'still'} resemble the trained model's`);
          out.sanity = r;
        }
      }
    } finally {
      bar.done();
    }
    if (a.json) {
      await fs.writeFile(a.json, JSON.stringify(out, null, 1) + '\n');
      lines.push(`wrote      ${a.json}`);
    }
    if (a.plot) {
      const kinds = Object.keys(curves);
      if (!kinds.length) throw new Error('--plot draws the removal curves: add deletion, insertion or road to --metrics');
      const examples = result.outputs.length;
      const ext = path.extname(a.plot);
      for (let e = 0; e < examples; e++) {
        const file = examples > 1 ? `${a.plot.slice(0, a.plot.length - ext.length)}_${e}${ext}` : a.plot;
        await fs.writeFile(file, encodePng(renderCurves(kinds.map((k) => ({ label: `${k} auc ${fmt((out[k] as { auc: number[] }).auc[e])}`, ...curves[k][e] })), { title: `${result.method} ${kinds.join(' and ')}` })));
        lines.push(`wrote      ${file}`);
      }
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await explainer.release();
  }
}

export interface CompareArgs extends InputArgs {
  model: string;
  other?: string;
  /** Compare with core's float16 copy of the model. */
  float16?: boolean;
  method: MethodName;
  otherMethod?: MethodName;
  steps: number;
  target?: string;
  topK?: number;
  device: Device;
  json?: string;
}

const asFloat32 = (t: { data: unknown }) => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>));

/** Two attributions of the same inputs: two methods on one model, or one method on two models. */
export async function compare(a: CompareArgs): Promise<void> {
  if (!a.other && !a.otherMethod && !a.float16) throw new Error('compare needs a second model (--other MODEL or --float16) or a second method (--other-method)');
  if (a.other && a.float16) throw new Error('give the second model once: --other MODEL or --float16');
  const first = await NodeExplainer.load(a.model, { device: a.device });
  const second = a.other ? await NodeExplainer.load(a.other, { device: a.device }) : a.float16 ? await NodeExplainer.load(toFloat16(first.explainer.model), { device: a.device }) : first;
  const secondName = a.other ?? (a.float16 ? `${a.model} (float16 copy)` : a.model);
  try {
    const { feeds } = await readInputs(a, first.summary);
    const opts: ExplainOptions = { method: a.method, steps: a.steps, target: parseTarget(a.target) };
    const r1 = await first.explain(feeds, opts);
    // the second explains the first's classes, so the two answer the same question
    const r2 = await second.explain(feeds, { ...opts, method: a.otherMethod ?? a.method, target: r1.classes ?? opts.target });
    const names = Object.keys(r1.attributions);
    const missing = names.filter((n) => !r2.attributions[n]);
    if (missing.length) throw new Error(`the second explanation has no attributions for ${missing.map((n) => `'${n}'`).join(', ')}`);
    const lines = [`first      ${a.model}: ${r1.method}`, `second     ${secondName}: ${r2.method}${r2.gradientSource === 'fd' && r1.gradientSource !== 'fd' ? ` (by finite differences: ${r2.fdReason})` : ''}`];
    const rows = [];
    for (let e = 0; e < r1.outputs.length; e++) {
      for (const n of names) {
        const t = r1.attributions[n];
        const per = t.dims.slice(1).reduce((x, y) => x * y, 1);
        const x = asFloat32(t).subarray(e * per, (e + 1) * per);
        const y = asFloat32(r2.attributions[n]).subarray(e * per, (e + 1) * per);
        const g = agreement(y, x, a.topK);
        // SSIM of the per-pixel magnitude maps for images [N, C, H, W]
        const m1 = pixelMagnitudes(t, e);
        const m2 = pixelMagnitudes(r2.attributions[n], e);
        const s = m1 && m2 ? ssim(m2.map, m1.map, m1.h, m1.w) : undefined;
        rows.push({ example: e, input: n, ...g, ...(s !== undefined ? { ssim: s } : {}) });
        lines.push(`${`example ${e}`.padEnd(10)} '${n}': Spearman ${g.spearman.toFixed(4)} (of magnitudes ${g.spearmanAbs.toFixed(4)}), top-${g.k} overlap ${(100 * g.topK).toFixed(1)}%, relative L2 ${g.relativeL2.toExponential(2)}${s !== undefined ? `, SSIM ${s.toFixed(4)}` : ''}`);
      }
    }
    if (a.json) {
      await fs.writeFile(a.json, JSON.stringify({ first: { model: a.model, method: r1.method }, second: { model: secondName, method: r2.method, gradientSource: r2.gradientSource }, rows }, null, 1) + '\n');
      lines.push(`wrote      ${a.json}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await first.release();
    if (second !== first) await second.release();
  }
}
