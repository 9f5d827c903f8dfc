/** What the metrics share: checking the attributions they judge, perturbation tensors given or drawn, baseline rows. */
import type { Tensor } from '../runtime';
import { rowSize, asFloat32 } from '../methods/tensors';

/** Attributions for exactly the attributed inputs, shaped like them, finite: else refused before any run. */
export function checkAttributions(attributions: Record<string, Tensor>, attributed: string[], feeds: Record<string, Tensor>, metric: string): void {
  for (const name of attributed) {
    const a = attributions[name];
    if (!a) throw new Error(`${metric}: no attributions for '${name}' (given: ${Object.keys(attributions).map((k) => `'${k}'`).join(', ') || 'none'}); attributions of the model's inputs are judged, not of a layer`);
    const want = feeds[name].dims;
    if (a.dims.length !== want.length || a.dims.some((d, i) => d !== want[i])) throw new Error(`${metric}: attributions for '${name}' have shape [${a.dims.join(', ')}], the input [${want.join(', ')}]`);
    if (asFloat32(a).some((v) => !Number.isFinite(v))) throw new Error(`${metric}: attributions for '${name}' hold values that are not finite`);
  }
}

/** Perturbation rows per attributed input, [batch * n, ...row] example-major: given (checked), or drawn by `draw`. */
export function perturbationsFor(given: Record<string, Tensor> | undefined, attributed: string[], feeds: Record<string, Tensor>, batch: number, n: number, draw: () => number, what: string): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const name of attributed) {
    const per = rowSize(feeds[name]);
    const t = given?.[name];
    if (given && !t) throw new Error(`${what}: none given for attributed input '${name}'`);
    if (t) {
      const want = [batch * n, ...feeds[name].dims.slice(1)];
      if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) throw new Error(`${what} for '${name}' have shape [${t.dims.join(', ')}], expected [${want.join(', ')}] (examples x samples, example-major)`);
      out[name] = asFloat32(t);
    } else {
      out[name] = Float32Array.from({ length: batch * n * per }, draw);
    }
  }
  return out;
}

/** Baseline values per attributed input, one row per example. */
export function baselineRows(baselines: 'zeros' | number | Record<string, Tensor> | undefined, attributed: string[], feeds: Record<string, Tensor>, batch: number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const name of attributed) {
    const per = rowSize(feeds[name]);
    const rows = new Float32Array(batch * per);
    if (typeof baselines === 'number') rows.fill(baselines);
    else if (baselines && baselines !== 'zeros') {
      const t = baselines[name];
      if (!t) throw new Error(`no baseline given for '${name}'`);
      const d = asFloat32(t);
      if (d.length !== per && d.length !== batch * per) throw new Error(`baseline for '${name}' has shape [${t.dims.join(', ')}]: one row [1, ...] or one per example is needed`);
      for (let e = 0; e < batch; e++) rows.set(d.length === per ? d : d.subarray(e * per, (e + 1) * per), e * per);
    }
    out[name] = rows;
  }
  return out;
}

/** The area under a curve through (xs[k], ys[k]) by the trapezoid rule. */
export function trapezoidArea(xs: number[], ys: number[]): number {
  let s = 0;
  for (let k = 1; k < ys.length; k++) s += ((xs[k] - xs[k - 1]) * (ys[k] + ys[k - 1])) / 2;
  return s;
}
