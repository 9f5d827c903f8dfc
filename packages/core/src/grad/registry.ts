/**
 * The table of gradient rules, keyed by op type and opset range, in the
 * style of tfjs-core's gradients/ folder: one small module per op family
 * (rules/*.ts) registers its rules here.
 */
import type { NodeProto } from '../onnx/types';
import type { Emitter } from './emitter';

export interface GradContext {
  node: NodeProto;
  /** The opset of the default domain the model imports. */
  opset: number;
  e: Emitter;
  /** Gradient flowing into each output of the node (undefined: none flows there). */
  dY: (string | undefined)[];
  /** Which inputs need a gradient (they depend on what is differentiated). */
  needs: boolean[];
  /** The node's inputs and outputs, for convenience ('' for an absent optional one). */
  x: string[];
  y: string[];
}

/** Returns the gradient of each input (undefined where none is needed or it is zero). */
export type GradRule = (ctx: GradContext) => (string | undefined)[];

export interface RuleEntry {
  opType: string;
  domain: string;
  /** Opsets [since, until] the rule is valid for (inclusive). */
  since: number;
  until: number;
  rule: GradRule;
  /** Outputs that never carry a gradient (indices, masks, shapes). */
  nonDifferentiableOutputs?: number[];
}

const table = new Map<string, RuleEntry[]>();

export function registerGradient(
  opTypes: string | string[],
  rule: GradRule,
  opts: { since?: number; until?: number; domain?: string; nonDifferentiableOutputs?: number[] } = {},
): void {
  for (const opType of Array.isArray(opTypes) ? opTypes : [opTypes]) {
    const domain = opts.domain ?? '';
    const key = `${domain}::${opType}`;
    const list = table.get(key) ?? [];
    list.push({ opType, domain, since: opts.since ?? 1, until: opts.until ?? Infinity, rule, nonDifferentiableOutputs: opts.nonDifferentiableOutputs });
    table.set(key, list);
  }
}

export function findGradient(opType: string, domain: string, opset: number): RuleEntry | undefined {
  return table.get(`${domain}::${opType}`)?.find((r) => opset >= r.since && opset <= r.until);
}

/** Op types that never carry a gradient: their outputs are shapes, indices, booleans or piecewise constants. */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'ConstantOfShape', 'Range', 'NonZero', 'ArgMax', 'ArgMin', 'Equal', 'Less', 'Greater',
  'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'EyeLike', 'OneHot',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli',
  'Constant', 'BitShift', 'Sign', 'Floor', 'Ceil', 'Round',
]);

export function registeredOpTypes(): string[] {
  return [...table.values()].flat().map((r) => (r.domain ? `${r.domain}::${r.opType}` : r.opType));
}
