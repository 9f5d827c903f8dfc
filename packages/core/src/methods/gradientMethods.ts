/**
 * The gradient family around Integrated Gradients: Saliency, Input x
 * Gradient, NoiseTunnel (SmoothGrad, SmoothGrad squared, VarGrad),
 * GradientSHAP (expected gradients) and Grad-CAM, all on the same engines,
 * with the same target, batching, progress and cancellation options.
 */
import type { Tensor } from '../runtime';
import { Explainer, type CommonOptions } from './explainer';
import { rowSize, asFloat32 } from './tensors';
import { integratedGradients, pointFeeds, exampleRows, resultBase, baselineFor, type AttributionResult, type IntegratedGradientsOptions, type Baseline } from './integratedGradients';
import { interpolationMatrix } from '../grad/rules/resize';
import { throwIfAborted } from './progress';

/** A seeded normal/uniform generator (xorshift + Box-Muller): repeatable runs. */
export function randomSource(seed = 1): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0 || 0x9e3779b9;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  let spare: number | undefined;
  const normal = () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { uniform, normal };
}

/** Options are checked before any work: zero samples would average over nothing, a NaN stdev poison every row. */
function checkSamples(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`samples must be a positive integer, got ${n}`);
  return n;
}
function checkStdev(v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`stdev must be a finite number >= 0, got ${v}`);
  return v;
}

/** Gradients of the target at the inputs themselves (one row per example). */
async function gradientsAt(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions, method: string) {
  const batch = explainer.validate(inputs);
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const run = await explainer.runRows(engine, batch, exampleRows(feeds, engine.attributed, classes), opts, method);
  return { batch, target, classes, engine, feeds, run };
}

export interface SaliencyOptions extends CommonOptions {
  /** Absolute value of the gradient (default true, as in Captum). */
  abs?: boolean;
}

export async function saliency(explainer: Explainer, inputs: Record<string, Tensor>, opts: SaliencyOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'saliency');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const g = run.grads[w];
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: opts.abs === false ? g : g.map(Math.abs) };
  }
  return resultBase('saliency', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}

export async function inputXGradient(explainer: Explainer, inputs: Record<string, Tensor>, opts: CommonOptions = {}): Promise<AttributionResult> {
  const { engine, feeds, run, classes } = await gradientsAt(explainer, inputs, opts, 'input x gradient');
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const x = asFloat32(feeds[w]);
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data: run.grads[w].map((g, i) => g * x[i]) };
  }
  return resultBase('input-x-gradient', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
}

export type NoiseTunnelType = 'smoothgrad' | 'smoothgrad_sq' | 'vargrad';

export interface NoiseTunnelOptions extends IntegratedGradientsOptions, SaliencyOptions {
  /** The attribution under noise (default saliency, which is SmoothGrad proper). */
  base?: 'saliency' | 'input-x-gradient' | 'integrated-gradients';
  type?: NoiseTunnelType;
  /** Noisy samples per example (default 10). */
  samples?: number;
  /** Standard deviation of the Gaussian noise, in input units (default 1, as in Captum). */
  stdev?: number;
  seed?: number;
}

/**
 * NoiseTunnel: the base attribution averaged over noisy copies of the input
 * (SmoothGrad, Smilkov et al. 2017), its square averaged, or its variance
 * (VarGrad). Noise is added to the attributed inputs (or the layer tensor).
 */
export async function noiseTunnel(explainer: Explainer, inputs: Record<string, Tensor>, opts: NoiseTunnelOptions = {}): Promise<AttributionResult> {
  const samples = checkSamples(opts.samples ?? 10);
  const stdev = checkStdev(opts.stdev ?? 1);
  const type = opts.type ?? 'smoothgrad';
  const base = opts.base ?? 'saliency';
  const rnd = randomSource(opts.seed ?? 1);
  const batch = explainer.validate(inputs);
  const resolved = await explainer.resolveTarget(inputs, opts, batch);
  const classes = resolved.classes;
  const fixed = { ...opts, target: classes ?? opts.target, onProgress: undefined };
  const engine = await explainer.engine(inputs, opts, resolved.target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const sums: Record<string, Float64Array> = {};
  const squares: Record<string, Float64Array> = {};
  for (const w of engine.attributed) {
    sums[w] = new Float64Array(feeds[w].data.length);
    squares[w] = new Float64Array(feeds[w].data.length);
  }
  for (let s = 0; s < samples; s++) {
    throwIfAborted(opts.signal);
    // noisy copy of the attributed tensors; with a layer, noise goes into the layer tensor
    const noisy: Record<string, Tensor> = { ...feeds };
    for (const w of engine.attributed) {
      const x = asFloat32(feeds[w]);
      noisy[w] = { type: 'float32', dims: [...feeds[w].dims], data: x.map((v) => v + stdev * rnd.normal()) };
    }
    let attr: Record<string, Tensor>;
    if (base === 'integrated-gradients') {
      if (engine.at) throw new Error('a noise tunnel over layer integrated gradients is not supported; use it on input attributions');
      // the model's own inputs, noisy where attributed (attributed inputs are batch-first: the same in both layouts)
      const noisyInputs = { ...inputs };
      for (const w of engine.attributed) noisyInputs[w] = noisy[w];
      const r = await integratedGradients(explainer, noisyInputs, fixed);
      attr = r.attributions;
    } else {
      const run = await explainer.runRows(engine, batch, exampleRows(noisy, engine.attributed, classes), { ...opts, onProgress: undefined }, 'noise tunnel');
      attr = {};
      for (const w of engine.attributed) {
        const g = run.grads[w];
        const x = asFloat32(noisy[w]);
        const a = base === 'input-x-gradient' ? g.map((v, i) => v * x[i]) : opts.abs === false ? g : g.map(Math.abs);
        attr[w] = { type: 'float32', dims: [...feeds[w].dims], data: a };
      }
    }
    for (const w of engine.attributed) {
      const a = asFloat32(attr[w]);
      for (let i = 0; i < a.length; i++) {
        sums[w][i] += a[i];
        squares[w][i] += a[i] * a[i];
      }
    }
    opts.onProgress?.({ phase: 'noise tunnel', done: s + 1, total: samples });
  }
  const attributions: Record<string, Tensor> = {};
  for (const w of engine.attributed) {
    const data = new Float32Array(sums[w].length);
    for (let i = 0; i < data.length; i++) {
      const mean = sums[w][i] / samples;
      const sq = squares[w][i] / samples;
      data[i] = type === 'smoothgrad' ? mean : type === 'smoothgrad_sq' ? sq : sq - mean * mean;
    }
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data };
  }
  // F(x) at the input itself (the noisy runs saw F(x + noise) only)
  const outputs = (await explainer.runRows(engine, batch, exampleRows(feeds, engine.attributed, classes), { ...opts, onProgress: undefined }, 'outputs', false)).selected;
  return { ...resultBase(`noise-tunnel(${base}, ${type})`, explainer, engine, opts.target, classes, attributions, outputs, opts.internalBatchSize) };
}

export interface GradientShapOptions extends CommonOptions {
  /** The baseline distribution: a tensor whose rows are drawn from (or one baseline). Default: zeros. */
  baselines?: Baseline;
  /** Samples per example (default 5, as in Captum). */
  samples?: number;
  /** Standard deviation of Gaussian noise added to the input for each sample (default 0), as Captum's stdevs. */
  stdev?: number;
  seed?: number;
}

/**
 * GradientSHAP (expected gradients): for each sample, a baseline drawn at
 * random from the given rows and a point at a random alpha between it and the
 * input; the attribution is the mean of gradient * (x - baseline). Its delta
 * compares the sum with F(x) minus the mean F over the drawn baselines.
 */
export async function gradientShap(explainer: Explainer, inputs: Record<string, Tensor>, opts: GradientShapOptions = {}): Promise<AttributionResult & { delta: number[]; baselineOutputs: number[] }> {
  const samples = checkSamples(opts.samples ?? 5);
  const stdev = checkStdev(opts.stdev ?? 0);
  const rnd = randomSource(opts.seed ?? 1);
  const batch = explainer.validate(inputs);
  const { target, classes } = await explainer.resolveTarget(inputs, opts, batch);
  const engine = await explainer.engine(inputs, opts, target);
  const feeds = await explainer.modelFeeds(engine, inputs);
  const attributed = engine.attributed;
  // the distribution: all rows of each baseline tensor
  const dist: Record<string, { data: Float32Array; rows: number }> = {};
  for (const w of attributed) {
    const spec = opts.baselines ?? 'zeros';
    const value = typeof spec === 'object' && !('dims' in spec) && !('inputs' in spec) ? (spec as Record<string, unknown>)[w] : spec;
    const per = rowSize(feeds[w]);
    if (value && typeof value === 'object' && 'dims' in (value as object)) {
      const t = value as Tensor;
      if (rowSize(t) !== per) throw new Error(`baselines for '${w}' have rows of ${rowSize(t)} values, the input has ${per}`);
      dist[w] = { data: asFloat32(t), rows: t.dims[0] };
    } else {
      const one = await baselineFor(explainer, engine, (value ?? 'zeros') as Baseline, w, { ...feeds[w], dims: [1, ...feeds[w].dims.slice(1)] });
      dist[w] = { data: one, rows: 1 };
    }
  }
  const rows = Math.max(...Object.values(dist).map((d) => d.rows));
  // draw (baseline row, alpha) per sample, the same draw for every attributed tensor
  const draws = Array.from({ length: batch * samples }, () => ({ b: Math.floor(rnd.uniform() * rows), a: rnd.uniform() }));
  const xs: Record<string, Float32Array> = {};
  for (const w of attributed) xs[w] = asFloat32(feeds[w]);
  const baseRow = (w: string, b: number, per: number) => dist[w].data.subarray((b % dist[w].rows) * per, ((b % dist[w].rows) + 1) * per);
  // With stdev, each sample's input is x + noise, as Captum's GradientShap and SHAP's
  // GradientExplainer (local smoothing) do: the point is b + a (x' - b) and the
  // attribution grad * (x' - b). The noise is drawn up front (sample by sample,
  // tensor by tensor, element by element), so the attribution sees the same x'.
  const noisy: Record<string, Float32Array> = {};
  if (stdev) {
    for (const w of attributed) noisy[w] = new Float32Array(batch * samples * rowSize(feeds[w]));
    for (let j = 0; j < batch * samples; j++) {
      for (const w of attributed) {
        const per = rowSize(feeds[w]);
        const x = xs[w].subarray(Math.floor(j / samples) * per, (Math.floor(j / samples) + 1) * per);
        for (let i = 0; i < per; i++) noisy[w][j * per + i] = x[i] + stdev * rnd.normal();
      }
    }
  }
  const inputOf = (w: string, j: number, per: number) =>
    stdev ? noisy[w].subarray(j * per, (j + 1) * per) : xs[w].subarray(Math.floor(j / samples) * per, (Math.floor(j / samples) + 1) * per);
  const { grads } = await explainer.runRows(
    engine,
    batch * samples,
    (start, n) => ({
      feeds: pointFeeds(feeds, attributed, start, n, (j) => Math.floor(j / samples), (w, j, out) => {
        const per = out.length;
        const { b, a } = draws[j];
        const x = inputOf(w, j, per);
        const base = baseRow(w, b, per);
        for (let i = 0; i < per; i++) out[i] = base[i] + a * (x[i] - base[i]);
      }),
      classes: Array.from({ length: n }, (_, j) => (classes ? classes[Math.floor((start + j) / samples)] : 0)),
    }),
    opts,
    'gradient shap',
  );
  const attributions: Record<string, Tensor> = {};
  for (const w of attributed) {
    const per = rowSize(feeds[w]);
    const data = new Float32Array(batch * per);
    for (let e = 0; e < batch; e++) {
      for (let s = 0; s < samples; s++) {
        const j = e * samples + s;
        const base = baseRow(w, draws[j].b, per);
        const x = inputOf(w, j, per);
        for (let i = 0; i < per; i++) data[e * per + i] += (grads[w][j * per + i] * (x[i] - base[i])) / samples;
      }
    }
    attributions[w] = { type: 'float32', dims: [...feeds[w].dims], data };
  }
  // F(x) and F at every drawn baseline
  const fx = await explainer.runRows(engine, batch, exampleRows(feeds, attributed, classes, xs), { ...opts, onProgress: undefined }, 'outputs', false);
  const fb = await explainer.runRows(engine, batch * samples, (start, n) => ({ feeds: pointFeeds(feeds, attributed, start, n, (j) => Math.floor(j / samples), (w, j, out) => out.set(baseRow(w, draws[j].b, out.length))), classes: Array.from({ length: n }, (_, j) => (classes ? classes[Math.floor((start + j) / samples)] : 0)) }), { ...opts, onProgress: undefined }, 'baseline outputs', false);
  const res = resultBase('gradient-shap', explainer, engine, opts.target, classes, attributions, fx.selected, opts.internalBatchSize);
  const meanBase = Array.from({ length: batch }, (_, e) => {
    let s = 0;
    for (let k = 0; k < samples; k++) s += fb.selected[e * samples + k];
    return s / samples;
  });
  // the baseline expectation E[F(x')] over the draws: what the attributions' sum is compared with
  return { ...res, baselineOutputs: meanBase, delta: res.sum.map((s, e) => s - (fx.selected[e] - meanBase[e])) };
}

export interface GradCamOptions extends CommonOptions {
  /** The convolution output to explain at, shaped [N, C, H, W]. */
  layer: string;
  /** Size to upsample the map to (default: the spatial size of the first attributed input). */
  size?: [number, number];
}

export interface GradCamResult extends AttributionResult {
  /** ReLU(sum_c weight_c * A_c) at the layer's resolution, [N, H, W]. */
  cam: Tensor;
  /** The same, bilinearly upsampled to the input's spatial size, [N, H_in, W_in]. */
  heatmap: Tensor;
  /** Channel weights (mean gradient over the layer's spatial axes), [N, C]. */
  weights: Tensor;
}

/** Grad-CAM (Selvaraju et al. 2017) at a convolution output. */
export async function gradCam(explainer: Explainer, inputs: Record<string, Tensor>, opts: GradCamOptions): Promise<GradCamResult> {
  const layerOpts = { ...opts, at: opts.layer };
  const { engine, feeds, run, classes, batch } = await gradientsAt(explainer, inputs, layerOpts, 'grad-cam');
  const a = feeds[opts.layer];
  if (a.dims.length !== 4) throw new Error(`Grad-CAM needs a layer shaped [N, C, H, W]; '${opts.layer}' has shape [${a.dims.join(', ')}]`);
  const [, c, h, w] = a.dims;
  const g = run.grads[opts.layer];
  const act = asFloat32(a);
  const weights = new Float32Array(batch * c);
  const cam = new Float32Array(batch * h * w);
  for (let n = 0; n < batch; n++) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = 0; i < h * w; i++) s += g[(n * c + k) * h * w + i];
      weights[n * c + k] = s / (h * w);
    }
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += weights[n * c + k] * act[(n * c + k) * h * w + i];
      cam[n * h * w + i] = Math.max(0, s);
    }
  }
  const firstInput = explainer.floatInputs()[0];
  const size = opts.size ?? (firstInput ? (inputs[firstInput].dims.slice(-2) as [number, number]) : [h, w]);
  const heatmap = upsampleBilinear({ type: 'float32', dims: [batch, h, w], data: cam }, size);
  const attributions = { [opts.layer]: { type: 'float32' as const, dims: [batch, h, w], data: cam } };
  const res = resultBase('grad-cam', explainer, engine, opts.target, classes, attributions, run.selected, opts.internalBatchSize);
  delete res.positionScores;
  return { ...res, cam: attributions[opts.layer], heatmap, weights: { type: 'float32', dims: [batch, c], data: weights } };
}

/** Bilinear resize of [N, H, W] maps (half-pixel centres, as image libraries and Resize's default do). */
export function upsampleBilinear(t: Tensor, [oh, ow]: [number, number]): Tensor {
  const [n, h, w] = t.dims;
  const coord = (x: number, _l: number, _o: number, s: number) => (x + 0.5) / s - 0.5;
  const mh = interpolationMatrix('linear', h, oh, oh / h, coord, 'floor');
  const mw = interpolationMatrix('linear', w, ow, ow / w, coord, 'floor');
  const src = asFloat32(t);
  const out = new Float32Array(n * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let i = 0; i < h; i++) {
          const wy = mh[y * h + i];
          if (!wy) continue;
          for (let j = 0; j < w; j++) s += wy * mw[x * w + j] * src[(b * h + i) * w + j];
        }
        out[(b * oh + y) * ow + x] = s;
      }
    }
  }
  return { type: 'float32', dims: [n, oh, ow], data: out };
}
