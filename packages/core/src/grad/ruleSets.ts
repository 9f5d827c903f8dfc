/**
 * Rule sets: the chain rule with some local backward rules changed, for
 * the attribution methods that are defined that way (Springenberg et al.
 * 2015's Guided Backpropagation, Zeiler & Fergus 2014's Deconvolution).
 * The builder takes a rule set and asks it first for each node; every op it
 * does not override keeps its standard rule (registry.ts).
 *
 * As Captum 0.8 (GuidedBackprop, Deconvolution), only ReLU's rule changes:
 * Captum hooks nn.ReLU modules, and a PyTorch ReLU (module or function)
 * exports as an ONNX Relu. LeakyRelu, PRelu and Clip keep their gradient.
 */
import type { NodeProto } from '../onnx/types';
import { normalizeDomain } from '../onnx/graph';
import type { GradRule } from './registry';

export type RuleSetName = 'standard' | 'guided-backprop' | 'deconvolution';

export interface RuleSet {
  name: RuleSetName;
  /** The rule replacing the standard one for this node, or undefined to keep it. */
  override(node: NodeProto, opset: number): GradRule | undefined;
}

const isRelu = (node: NodeProto) => node.opType === 'Relu' && !normalizeDomain(node.domain);

/** Guided Backpropagation: ReLU passes a gradient only where it is positive and the input was positive. */
const guided: GradRule = (c) => {
  const e = c.e;
  const positive = e.op('Relu', [c.dY[0]!]);
  return [e.maskWhere(e.op('Greater', [c.y[0], e.constF([0], [], c.y[0])]), positive)];
};

/** Deconvolution: ReLU's backward is a ReLU of the incoming gradient, whatever the input's sign. */
const deconvolution: GradRule = (c) => [c.e.op('Relu', [c.dY[0]!])];

const SETS: Record<RuleSetName, RuleSet> = {
  standard: { name: 'standard', override: () => undefined },
  'guided-backprop': { name: 'guided-backprop', override: (node) => (isRelu(node) ? guided : undefined) },
  deconvolution: { name: 'deconvolution', override: (node) => (isRelu(node) ? deconvolution : undefined) },
};

export function ruleSet(name: RuleSetName = 'standard'): RuleSet {
  const set = SETS[name];
  if (!set) throw new RangeError(`unknown rule set '${name as string}'; the rule sets are ${Object.keys(SETS).join(', ')}`);
  return set;
}
