/** NoiseTunnel: SmoothGrad, SmoothGrad squared and VarGrad over a base method, on noisy copies of the input. */
import type { Tensor } from '../runtime';
import { Explainer } from './explainer';
import { asFloat32 } from './tensors';
import { checkSamples, checkStdev, exampleRows, resultBase, type AttributionResult } from './common';
import { integratedGradients, type IntegratedGradientsOptions } from './integratedGradients';
import type { SaliencyOptions } from './saliency';
import { randomSource } from './random';
import { throwIfAborted } from './progress';

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
