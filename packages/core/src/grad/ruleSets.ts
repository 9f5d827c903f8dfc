/**
 * Rule sets: the chain rule with some local backward rules changed, for
 * the attribution methods that are defined that way (Springenberg et al.
 * 2015's Guided Backpropagation, Zeiler & Fergus 2014's Deconvolution,
 * Shrikumar et al. 2017's DeepLift).
 * The builder takes a rule set and asks it first for each node; every op it
 * does not override keeps its standard rule (registry.ts).
 *
 * For Guided Backprop and Deconvolution, ReLU's rule changes as Captum 0.8's
 * hooks on nn.ReLU change it (a PyTorch ReLU, module or function, exports
 * as an ONNX Relu); LeakyRelu gets the same treatment (Captum has none for
 * it), and so does Clip with a lower bound of 0 (ReLU6): Guided Backprop
 * keeps the positive part of its gradient, Deconvolution passes a ReLU of
 * the incoming gradient. PRelu and other Clips keep their gradient.
 */
import type { NodeProto } from '../onnx/types';
import { normalizeDomain } from '../onnx/graph';
import { findGradient, type GradRule } from './registry';
import { attrFloat } from '../onnx/attributes';

export type RuleSetName = 'standard' | 'guided-backprop' | 'deconvolution' | 'deeplift' | 'lrp';

/** LRP's rule for one layer (Captum 0.8's EpsilonRule, GammaRule, Alpha1_Beta0_Rule, IdentityRule). */
export type LrpLayerRule = { rule: 'epsilon'; epsilon?: number } | { rule: 'gamma'; gamma?: number } | { rule: 'alpha1beta0' } | { rule: 'identity' };

/** A rule set by name, or LRP with rules chosen per layer: keys are op types ('Conv') or node names, a node's name winning. */
export type RuleSetSpec = RuleSetName | { name: 'lrp'; layers: Record<string, LrpLayerRule> };

export const ruleSetName = (spec: RuleSetSpec | undefined): RuleSetName => (spec === undefined ? 'standard' : typeof spec === 'string' ? spec : spec.name);

export interface RuleSet {
  name: RuleSetName;
  /** The rule replacing the standard one for this node, or undefined to keep it. */
  override(node: NodeProto, opset: number): GradRule | undefined;
  /**
   * Whether a tensor's whole gradient (every consumer's part, summed) is
   * multiplied by the tensor's value before it flows on: LRP's input hooks,
   * which Captum registers on the tensor, not on the layer, so a tensor that
   * feeds a layer and a residual Add is scaled once, over both parts.
   */
  scalesTensor?(consumers: { node: NodeProto; inputIndex: number }[], opset: number): boolean;
}

const isRelu = (node: NodeProto) => node.opType === 'Relu' && !normalizeDomain(node.domain);
const isLeakyRelu = (node: NodeProto) => node.opType === 'LeakyRelu' && !normalizeDomain(node.domain);
const isClip = (node: NodeProto) => node.opType === 'Clip' && !normalizeDomain(node.domain);

/** Clip is ReLU-like when its lower bound is 0 (ReLU6): known only from the constant the rule sees, so decided there. */
const whenClipAtZero =
  (reluLike: GradRule, standard: GradRule): GradRule =>
  (c) => {
    const min = c.x[1] ? c.e.constantFloats(c.x[1]) : Float32Array.of(attrFloat(c.node, 'min', -Infinity));
    return min?.length === 1 && min[0] === 0 ? reluLike(c) : standard(c);
  };

/** Guided Backprop through a ReLU-like op (LeakyRelu): its own gradient, then only the positive part passed on. */
const guidedLike =
  (standard: GradRule): GradRule =>
  (c) => [c.e.op('Relu', [standard(c)[0]!])];

/** Guided Backpropagation: ReLU passes a gradient only where it is positive and the input was positive. */
const guided: GradRule = (c) => {
  const e = c.e;
  const positive = e.op('Relu', [c.dY[0]!]);
  return [e.maskWhere(e.op('Greater', [c.y[0], e.constF([0], [], c.y[0])]), positive)];
};

/** Deconvolution: ReLU's backward is a ReLU of the incoming gradient, whatever the input's sign. */
const deconvolution: GradRule = (c) => [c.e.op('Relu', [c.dY[0]!])];

/**
 * DeepLift's Rescale rule (Shrikumar et al. 2017), as Captum 0.8's
 * `nonlinear`: the rows of a batch are the examples followed by their
 * baselines (first half x, second half x'), and an elementwise
 * nonlinearity's backward multiplies by (f(x) - f(x')) / (x - x'), the same
 * for both halves, or by its derivative where |x - x'| < 1e-10. Every other
 * op keeps its rule, so linear ops carry the multipliers through.
 */
const DEEPLIFT_EPS = 1e-10;
const rescale =
  (standard: GradRule): GradRule =>
  (c) => {
    const e = c.e;
    const halves = (t: string) => {
      const [a, b] = e.opN('Split', [t], 2, c.opset >= 18 ? { axis: 0, num_outputs: 2 } : { axis: 0 });
      const d = e.sub(a, b);
      return e.concat([d, d], 0);
    };
    const dIn = halves(c.x[0]);
    const dOut = halves(c.y[0]);
    const small = e.op('Less', [e.op('Abs', [dIn]), e.constF([DEEPLIFT_EPS], [], dIn)]);
    const ratio = e.div(dOut, e.select(small, e.constF([1], [], dIn), dIn));
    return [e.select(small, standard(c)[0]!, e.mul(c.dY[0]!, ratio))];
  };

/**
 * DeepLift's MaxPool rule, as Captum 0.8's `maxpool`: the outputs' change is
 * split at the larger of the two maxima (max(y, y') - y' for the example's
 * rows, y - max(y, y') for the baseline's), each routed back to its own
 * rows' argmax like the plain gradient, the two summed, and divided by the
 * inputs' change (the derivative where that is below 1e-10).
 */
const maxpoolRescale =
  (standard: GradRule): GradRule =>
  (c) => {
    const e = c.e;
    const split = (t: string) => e.opN('Split', [t], 2, c.opset >= 18 ? { axis: 0, num_outputs: 2 } : { axis: 0 });
    const [xa, xb] = split(c.x[0]);
    const dx = e.sub(xa, xb);
    const dIn = e.concat([dx, dx], 0);
    const [ya, yb] = split(c.y[0]);
    const top = e.op('Max', [ya, yb]);
    const dOut = e.concat([e.sub(top, yb), e.sub(ya, top)], 0);
    const routed = standard({ ...c, dY: [e.mul(c.dY[0]!, dOut), ...c.dY.slice(1)] })[0]!;
    const [ra, rb] = split(routed);
    const both = e.add(ra, rb);
    const u = e.concat([both, both], 0);
    const small = e.op('Less', [e.op('Abs', [dIn]), e.constF([DEEPLIFT_EPS], [], dIn)]);
    return [e.select(small, standard(c)[0]!, e.div(u, e.select(small, e.constF([1], [], dIn), dIn)))];
  };

/**
 * DeepLift's Softmax rule, as Captum 0.8's `softmax`: the Rescale
 * multiplier, less the mean of the result over the whole tensor (every row
 * of the batch, examples and baselines together, as Captum takes it), which
 * makes it depend on the rows run together: deepLift.ts runs a model with a
 * Softmax in one session run.
 */
const softmaxRescale =
  (standard: GradRule): GradRule =>
  (c) => {
    const unnormalised = rescale(standard)(c)[0]!;
    const e = c.e;
    return [e.sub(unnormalised, e.op('ReduceMean', [unnormalised], { keepdims: 1 }))];
  };

/** DeepLift's rules for the nonlinearities Captum 0.8 gives one (nn.ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus). */
const DEEPLIFT_NONLINEAR = new Set(['Relu', 'Elu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softplus']);
function deepliftOverride(node: NodeProto, opset: number): GradRule | undefined {
  if (normalizeDomain(node.domain)) return undefined;
  const op = node.opType ?? '';
  if (DEEPLIFT_NONLINEAR.has(op) || op === 'MaxPool' || op === 'Softmax') {
    const standard = findGradient(op, '', opset)?.rule;
    return standard && (op === 'MaxPool' ? maxpoolRescale(standard) : op === 'Softmax' ? softmaxRescale(standard) : rescale(standard));
  }
  return undefined;
}

/**
 * LRP with the epsilon rule (Bach et al. 2015), as Captum 0.8's LRP with its
 * default rules: each layer with weights or pooling (Gemm, Conv,
 * BatchNormalization, MaxPool, AveragePool, GlobalAveragePool: the ONNX forms
 * of the nn modules Captum gives EpsilonRule) divides the relevance reaching
 * its output z by z + eps sign(z) (sign 0 taken as 1), passes it back as
 * the gradient would, and multiplies by its input; ReLU and Tanh pass
 * relevance through unchanged. The method multiplies the result by the
 * explained output (lrp.ts). A Linear exported as MatMul + Add (inputs of
 * more than two axes) is not one layer here and keeps its gradient.
 */
const LRP_EPS = 1e-9;
const LRP_LAYERS = new Set(['Gemm', 'Conv', 'BatchNormalization', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
const LRP_PASS_THROUGH = new Set(['Relu', 'Tanh']);

/**
 * One LRP layer: its output z recomputed with changed weights (gamma: W +
 * gamma max(W, 0); alpha1beta0: max(W, 0); Captum changes the module's
 * weights and feeds each layer its original input, which is the same), the
 * relevance divided by z + eps sign(z), passed back through that layer as
 * its gradient would be, and multiplied by the input. Identity passes the
 * relevance through unchanged.
 */
const layerRule =
  (standard: GradRule, rule: LrpLayerRule): GradRule =>
  (c) => {
    const e = c.e;
    if (rule.rule === 'identity') return [c.dY[0]];
    let ctx = c;
    let z = c.y[0];
    const weights = c.x[1];
    if ((rule.rule === 'gamma' || rule.rule === 'alpha1beta0') && weights) {
      const positive = e.op('Relu', [weights]);
      const changed = rule.rule === 'gamma' ? e.add(weights, e.scale(positive, rule.gamma ?? 0.25)) : positive;
      const x = [c.x[0], changed, ...c.x.slice(2)];
      // the layer again, its attributes as they are, on the changed weights; the rules read the shapes of what they touch
      z = e.fresh(`${c.node.opType}_lrp`);
      e.nodes.push({ ...c.node, name: e.fresh(`${c.node.opType}_lrp_node`), input: x, output: [z] });
      e.shapes.set(changed, { ...(e.shapes.get(weights) ?? { type: e.elemType(weights), dims: e.shape(weights) }) } as never);
      e.shapes.set(z, e.shapes.get(c.y[0]) as never);
      ctx = { ...c, node: { ...c.node, input: x, output: [z] }, x, y: [z] };
    }
    const eps = rule.rule === 'epsilon' ? rule.epsilon ?? LRP_EPS : LRP_EPS;
    const sign = e.op('Sign', [z]);
    const stable = e.select(e.op('Equal', [sign, e.constF([0], [], z)]), e.constF([1], [], z), sign);
    const scaled = e.div(c.dY[0]!, e.add(z, e.scale(stable, eps)));
    // (the product with the input is the tensor's, taken over all its consumers: scalesTensor)
    return [standard({ ...ctx, dY: [scaled, ...c.dY.slice(1)], needs: c.needs.map((n, i) => n && i === 0) })[0]];
  };

/** The LRP rule a node takes: the one named for it or its op, epsilon for an unnamed layer, undefined for any other op. */
const lrpRuleOf = (layers: Record<string, LrpLayerRule>, node: NodeProto): LrpLayerRule | undefined => {
  if (normalizeDomain(node.domain)) return undefined;
  const op = node.opType ?? '';
  return (node.name && layers[node.name]) || layers[op] || (LRP_LAYERS.has(op) ? { rule: 'epsilon' } : undefined);
};

/** LRP multiplies by a tensor's value where it is the activation input of a layer with a rule other than identity. */
const lrpScales =
  (layers: Record<string, LrpLayerRule>) =>
  (consumers: { node: NodeProto; inputIndex: number }[]): boolean =>
    consumers.some((c) => c.inputIndex === 0 && (lrpRuleOf(layers, c.node)?.rule ?? 'identity') !== 'identity');

const lrpOverride =
  (layers: Record<string, LrpLayerRule>) =>
  (node: NodeProto, opset: number): GradRule | undefined => {
    if (normalizeDomain(node.domain)) return undefined;
    const op = node.opType ?? '';
    const chosen = (node.name && layers[node.name]) || layers[op];
    if (LRP_PASS_THROUGH.has(op) && !chosen) return (c) => [c.dY[0]];
    if (LRP_LAYERS.has(op) || chosen) {
      const standard = findGradient(op, '', opset)?.rule;
      return standard && layerRule(standard, chosen ?? { rule: 'epsilon' });
    }
    return undefined;
  };

const SETS: Record<RuleSetName, RuleSet> = {
  standard: { name: 'standard', override: () => undefined },
  'guided-backprop': {
    name: 'guided-backprop',
    override: (node, opset) => {
      if (isRelu(node)) return guided;
      const standard = isLeakyRelu(node) || isClip(node) ? findGradient(node.opType!, '', opset)?.rule : undefined;
      if (!standard) return undefined;
      return isClip(node) ? whenClipAtZero(guidedLike(standard), standard) : guidedLike(standard);
    },
  },
  deconvolution: {
    name: 'deconvolution',
    override: (node, opset) => {
      if (isRelu(node) || isLeakyRelu(node)) return deconvolution;
      const standard = isClip(node) ? findGradient('Clip', '', opset)?.rule : undefined;
      return standard && whenClipAtZero(deconvolution, standard);
    },
  },
  deeplift: { name: 'deeplift', override: deepliftOverride },
  lrp: { name: 'lrp', override: lrpOverride({}), scalesTensor: lrpScales({}) },
};

export function ruleSet(spec: RuleSetSpec = 'standard'): RuleSet {
  if (typeof spec === 'object') {
    for (const [k, r] of Object.entries(spec.layers)) {
      if (!['epsilon', 'gamma', 'alpha1beta0', 'identity'].includes(r?.rule)) throw new RangeError(`LRP rule for '${k}' is '${(r as { rule?: string })?.rule}': use epsilon, gamma, alpha1beta0 or identity`);
    }
    return { name: 'lrp', override: lrpOverride(spec.layers), scalesTensor: lrpScales(spec.layers) };
  }
  const set = SETS[spec];
  if (!set) throw new RangeError(`unknown rule set '${spec as string}'; the rule sets are ${Object.keys(SETS).join(', ')}`);
  return set;
}
