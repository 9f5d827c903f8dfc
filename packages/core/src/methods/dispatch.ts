/**
 * The table of attribution methods: one row per method, with what the front
 * ends need to offer it (its label, family, the options it reads with their
 * help) and its run function. The CLI's --method choices and option help,
 * the library's explain, and the dashboard's method list and fields are all
 * made from it: adding a method is one module and one row here.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from './explainer';
import { gradientCoverage } from '../grad/coverage';
import { locateForest } from '../trees/locate';
import { hitrateCovers } from '../trees/shapley';
import type { AttributionResult } from './common';
import { integratedGradients, type IntegratedGradientsOptions, type IntegratedGradientsResult } from './integratedGradients';
import { saliency } from './saliency';
import { inputXGradient } from './inputXGradient';
import { noiseTunnel, type NoiseTunnelOptions } from './noiseTunnel';
import { gradientShap, type GradientShapOptions } from './gradientShap';
import { gradCam, type GradCamResult } from './gradCam';
import { guidedBackprop } from './guidedBackprop';
import { deconvolution } from './deconvolution';
import { deepLift, type DeepLiftOptions } from './deepLift';
import { guidedGradCam } from './guidedGradCam';
import { deepLiftShap, type DeepLiftShapOptions } from './deepLiftShap';
import { lrp, type LrpOptions } from './lrp';
import { occlusion, type OcclusionOptions } from './occlusion';
import { featureAblation } from './featureAblation';
import { featurePermutation } from './featurePermutation';
import { shapleySampling, SHAPLEY_SAMPLES } from './shapleySampling';
import { kernelShap, type KernelShapOptions, type KernelShapExtras } from './kernelShap';
import { lime, LIME_SAMPLES, type LimeOptions, type LimeExtras } from './lime';
import type { PerturbationOptions, PerturbationResultExtras } from './perturbation';
import { treeShap, type TreeShapOptions, type TreeShapExtras } from './treeShap';

export type ExplainOptions = IntegratedGradientsOptions &
  Omit<NoiseTunnelOptions, 'baselines'> &
  Omit<GradientShapOptions, 'baselines'> &
  Omit<PerturbationOptions, 'baselines'> &
  Partial<Pick<OcclusionOptions, 'window' | 'strides'>> &
  Pick<KernelShapOptions, 'background'> &
  Pick<LimeOptions, 'kernelWidth' | 'ridge'> &
  Pick<TreeShapOptions, 'algorithm' | 'treeOutput'> &
  Pick<LrpOptions, 'layerRules'> & {
    /** A method of the table, or 'auto' (see chooseMethod). */
    method?: MethodName | 'auto';
    /** Grad-CAM's convolution layer (an intermediate tensor name). */
    layer?: string;
  };

export type ExplainResult = AttributionResult &
  Partial<Pick<IntegratedGradientsResult, 'delta' | 'baselineOutputs' | 'steps' | 'integration' | 'adaptive'>> &
  Partial<Pick<GradCamResult, 'heatmap'>> &
  Partial<PerturbationResultExtras> &
  Partial<Omit<KernelShapExtras, 'delta' | 'baselineOutputs'>> &
  Partial<LimeExtras> &
  Partial<Pick<TreeShapExtras, 'algorithm' | 'treeOutput' | 'covers'>>;

/** Options particular to some methods (the common ones, target, output, at, ..., every method reads). */
export type MethodOptionName =
  | 'steps'
  | 'tolerance'
  | 'integration'
  | 'baselines'
  | 'samples'
  | 'stdev'
  | 'layer'
  | 'window'
  | 'strides'
  | 'featureMask'
  | 'background'
  | 'seed'
  | 'kernelWidth'
  | 'ridge'
  | 'algorithm'
  | 'treeOutput'
  | 'layerRules';

/** What each particular option means, with its default where all methods share one: the help the front ends show, from one place. */
export const METHOD_OPTIONS: Record<MethodOptionName, { help: string; default?: string | number }> = {
  steps: { help: 'interpolation steps, or auto: as many as the tolerance needs, per example', default: 50 },
  tolerance: { help: 'with steps auto: relative tolerance on the attributions and the completeness gap', default: 0.01 },
  integration: { help: 'quadrature rule', default: 'gausslegendre' },
  baselines: {
    help: 'zeros, a constant (for token ids: the replacement id, e.g. pad), or a tensor (one row, or one per example); at a layer, model inputs whose layer value is the baseline (e.g. pad tokens)',
    default: 'zeros',
  },
  samples: {
    help: `noisy samples (smoothgrad, default 10), baseline draws (gradient-shap, default 5), feature orders (shapley-sampling, default ${SHAPLEY_SAMPLES}), coalitions (kernel-shap, default 2M + 2048 for M features; all of them when 2^M - 2 fit) or perturbed samples (lime, default ${LIME_SAMPLES})`,
  },
  stdev: { help: 'standard deviation of the noise added to the input (smoothgrad default 1, gradient-shap default 0)' },
  layer: { help: "the convolution output to attribute at (an intermediate tensor's name)" },
  window: { help: 'the occluding window over one input row, one size per axis (for an image, height,width alone: every channel)' },
  strides: { help: 'steps between occluding windows, one per axis like the window, or one for all', default: 1 },
  featureMask: {
    help: 'which elements go together: elements (each alone), grid:RxC (image cells), slic:N (about N superpixels per image), or integer ids shaped like one input row (ids 0..M-1, none skipped)',
    default: 'elements',
  },
  background: { help: "background rows shaped like the input's, [K, ...]: removed features take each in turn, outputs averaged (shap's background data)" },
  seed: { help: 'seed of every random draw (noise, orders, coalitions, samples): the same seed gives the same result', default: 1 },
  kernelWidth: { help: 'width of the exponential kernel on the cosine distance from the example', default: 0.25 },
  ridge: { help: 'ridge penalty of the surrogate fit (0: weighted least squares)', default: 0 },
  algorithm: { help: 'interventional (over background rows; the default with a background) or path-dependent (under the trees\' node covers; the default without)' },
  layerRules: { help: "LRP's rule per layer, by op type or node name: epsilon (default, 1e-9), gamma (0.25), alpha1beta0 (z+) or identity" },
  treeOutput: { help: 'raw: the trees\' summed scores before post_transform (a margin); probability: the score output after it, exact by enumeration', default: 'raw' },
};

export interface MethodSpec {
  /** Shown to people: 'Integrated Gradients'. */
  label: string;
  /** gradient: needs gradients (by graph, or finite differences); perturbation: runs the model only; tree: reads a tree ensemble. */
  family: 'gradient' | 'perturbation' | 'tree';
  /** One line on what it computes, for help texts. */
  summary: string;
  /** The particular options it reads. */
  options: readonly MethodOptionName[];
  /** It attributes at a layer it must be given (Grad-CAM's convolution). */
  needsLayer?: boolean;
  run(explainer: Explainer, inputs: Record<string, Tensor>, opts: ExplainOptions): Promise<ExplainResult>;
}

export const METHOD_TABLE = {
  ig: {
    label: 'Integrated Gradients',
    family: 'gradient',
    summary: 'the path integral of the gradient from a baseline to the input (Sundararajan et al. 2017), with its completeness gap',
    options: ['steps', 'tolerance', 'integration', 'baselines'],
    run: (ex, x, o) => integratedGradients(ex, x, o),
  },
  saliency: {
    label: 'Saliency',
    family: 'gradient',
    summary: 'the absolute gradient at the input',
    options: [],
    run: (ex, x, o) => saliency(ex, x, o),
  },
  'input-x-gradient': {
    label: 'Input × Gradient',
    family: 'gradient',
    summary: 'the input times the gradient at it',
    options: [],
    run: (ex, x, o) => inputXGradient(ex, x, o),
  },
  smoothgrad: {
    label: 'SmoothGrad',
    family: 'gradient',
    summary: 'saliency averaged over noisy copies of the input',
    options: ['samples', 'stdev', 'seed'],
    run: (ex, x, o) => noiseTunnel(ex, x, o),
  },
  'gradient-shap': {
    label: 'GradientSHAP',
    family: 'gradient',
    summary: 'expected gradients over baselines drawn at random, at random points between them and the input',
    options: ['samples', 'stdev', 'baselines', 'seed'],
    run: (ex, x, o) => gradientShap(ex, x, o as GradientShapOptions),
  },
  'grad-cam': {
    label: 'Grad-CAM',
    family: 'gradient',
    summary: "a convolution's channels weighted by their mean gradient, summed and rectified (Selvaraju et al. 2017)",
    options: ['layer'],
    needsLayer: true,
    run: (ex, x, o) => {
      if (!o.layer) throw new Error('grad-cam needs a convolution layer: name its output tensor (--at on the command line)');
      return gradCam(ex, x, { ...o, layer: o.layer });
    },
  },
  'guided-backprop': {
    label: 'Guided Backprop',
    family: 'gradient',
    summary: "the gradient with ReLU's backward passing only positive gradients where its input was positive (Springenberg et al. 2015); graph gradients only",
    options: [],
    run: (ex, x, o) => guidedBackprop(ex, x, o),
  },
  deconvolution: {
    label: 'Deconvolution',
    family: 'gradient',
    summary: "the gradient with ReLU's backward a ReLU of the incoming gradient (Zeiler & Fergus 2014); graph gradients only",
    options: [],
    run: (ex, x, o) => deconvolution(ex, x, o),
  },
  'guided-grad-cam': {
    label: 'Guided Grad-CAM',
    family: 'gradient',
    summary: "Guided Backprop times a convolution layer's Grad-CAM map, upsampled to the input (nearest, as Captum); graph gradients only",
    options: ['layer'],
    needsLayer: true,
    run: (ex, x, o) => {
      if (!o.layer) throw new Error('guided-grad-cam needs a convolution layer: name its output tensor (--at on the command line)');
      return guidedGradCam(ex, x, { ...o, layer: o.layer });
    },
  },
  deeplift: {
    label: 'DeepLift',
    family: 'gradient',
    summary: "multipliers (f(x) - f(x')) / (x - x') through every nonlinearity, the example and its baseline run together (Rescale rule, Shrikumar et al. 2017); sums to F(x) - F(baseline); graph gradients only",
    options: ['baselines'],
    run: (ex, x, o) => deepLift(ex, x, o as DeepLiftOptions),
  },
  'deeplift-shap': {
    label: 'DeepLiftShap',
    family: 'gradient',
    summary: 'DeepLift from each row of a baseline distribution, averaged (sums to F(x) - mean F(baselines)); graph gradients only',
    options: ['baselines'],
    run: (ex, x, o) => deepLiftShap(ex, x, o as DeepLiftShapOptions),
  },
  lrp: {
    label: 'LRP (epsilon)',
    family: 'gradient',
    summary: 'relevance propagated back layer by layer with the epsilon rule, ReLU passing it through (Bach et al. 2015, as Captum); graph gradients only',
    options: ['layerRules'],
    run: (ex, x, o) => lrp(ex, x, o as LrpOptions),
  },
  occlusion: {
    label: 'Occlusion',
    family: 'perturbation',
    summary: 'the average output drop over the windows, filled with the baseline, that cover each element (Zeiler & Fergus 2014)',
    options: ['window', 'strides', 'baselines'],
    run: (ex, x, o) => {
      if (!o.window) throw new Error('occlusion needs a window shape (--window, e.g. 4,4)');
      return occlusion(ex, x, { ...o, window: o.window } as OcclusionOptions);
    },
  },
  'feature-ablation': {
    label: 'Feature ablation',
    family: 'perturbation',
    summary: 'the output drop when each feature alone is replaced by the baseline',
    options: ['featureMask', 'baselines'],
    run: (ex, x, o) => featureAblation(ex, x, o as PerturbationOptions),
  },
  'feature-permutation': {
    label: 'Feature permutation',
    family: 'perturbation',
    summary: "the output drop when each feature is shuffled among the batch's examples (needs 2 or more)",
    options: ['featureMask', 'seed'],
    run: (ex, x, o) => featurePermutation(ex, x, o as PerturbationOptions),
  },
  'shapley-sampling': {
    label: 'Shapley value sampling',
    family: 'perturbation',
    summary: "each feature's average change of the output over random orders of switching features on (antithetic pairs); sums to F(x) - F(baseline)",
    options: ['samples', 'featureMask', 'baselines', 'seed'],
    run: (ex, x, o) => shapleySampling(ex, x, o as PerturbationOptions),
  },
  'kernel-shap': {
    label: 'KernelSHAP',
    family: 'perturbation',
    summary: 'Shapley values as the Shapley-kernel weighted fit over coalitions (exact when all are enumerated), over a background set; sums to F(x) - E[F(background)]',
    options: ['samples', 'featureMask', 'baselines', 'background', 'seed'],
    run: (ex, x, o) => kernelShap(ex, x, o as KernelShapOptions),
  },
  lime: {
    label: 'LIME',
    family: 'perturbation',
    summary: "a locally weighted linear surrogate over random feature subsets; its coefficients, with the fit's R^2",
    options: ['samples', 'featureMask', 'baselines', 'kernelWidth', 'ridge', 'seed'],
    run: (ex, x, o) => lime(ex, x, o as LimeOptions),
  },
  'tree-shap': {
    label: 'TreeSHAP',
    family: 'tree',
    summary: "exact Shapley values of a tree ensemble (ai.onnx.ml), read from its trees: interventional over a background set, or path-dependent under the trees' covers",
    options: ['background', 'algorithm', 'treeOutput'],
    run: (ex, x, o) => treeShap(ex, x, o as TreeShapOptions),
  },
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof METHOD_TABLE;

export const METHODS = Object.keys(METHOD_TABLE) as MethodName[];

/** The methods reading an option, for help texts: 'ig, smoothgrad'. */
export function methodsReading(option: MethodOptionName): MethodName[] {
  return METHODS.filter((m) => (METHOD_TABLE[m].options as readonly MethodOptionName[]).includes(option));
}

/**
 * What method 'auto' runs: Integrated Gradients where the output has a
 * gradient (by graph, or by finite differences when an op lacks a rule);
 * for a model piecewise constant in its inputs, TreeSHAP when it is one
 * tree ensemble that TreeSHAP can read and has what it needs (a background,
 * or node covers), else KernelSHAP. With why, for the front ends to say.
 */
export function chooseMethod(explainer: Explainer, opts: ExplainOptions = {}): { method: MethodName; why: string } {
  const coverage = gradientCoverage(explainer.model, { output: opts.output });
  if (!coverage.piecewiseConstant.length) return { method: 'ig', why: 'the output has a gradient' };
  let located;
  try {
    located = locateForest(explainer.model);
  } catch (e) {
    return { method: 'kernel-shap', why: `no gradient, and tree-shap cannot read it (${(e as Error).message.split(':')[0]})` };
  }
  if (opts.background || hitrateCovers(located.forest)) return { method: 'tree-shap', why: 'a tree ensemble: exact Shapley values from its trees' };
  return { method: 'kernel-shap', why: 'a tree ensemble, but tree-shap needs a background set or node covers, and neither is given' };
}

export async function explainWith(explainer: Explainer, inputs: Record<string, Tensor>, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const method = opts.method === 'auto' ? chooseMethod(explainer, opts).method : opts.method ?? 'ig';
  const spec: MethodSpec | undefined = (METHOD_TABLE as Record<string, MethodSpec>)[method];
  if (!spec) throw new Error(`unknown method '${method as string}'; use one of ${METHODS.join(', ')}`);
  return spec.run(explainer, inputs, opts);
}
