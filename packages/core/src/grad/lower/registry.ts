/**
 * Lowerings: ops without a gradient rule rewritten, before differentiation,
 * into standard ops that have one (an LSTM unrolled over the probed sequence
 * length, a fused com.microsoft attention spelled out). One module per op
 * family (recurrent.ts, contrib.ts) registers its lowerings here, as the
 * gradient rules register theirs in ../registry.ts.
 */
import type { NodeProto } from '../../onnx/types';
import type { GraphIndex } from '../../onnx/graph';
import type { Emitter } from '../emitter';

export interface LowerContext {
  node: NodeProto;
  /** The opset of the default domain the model imports: what is emitted must be valid there. */
  opset: number;
  /** Emits the replacement, with the node's outputs' shapes and constants from the probe. */
  e: Emitter;
  /** The node's inputs ('' for an absent optional one). */
  x: string[];
  /** The node's outputs ('' for an unused optional one). */
  y: string[];
}

/**
 * Emits standard ops computing the node's outputs and returns, for each
 * output, the emitted tensor holding it (undefined for an output the node
 * does not produce; the output's own name when the lowering emitted it under
 * that name, to compute from it: a layer attribution cut there then feeds
 * what follows). Throws a GradientError naming what it cannot lower.
 */
export type Lowering = (c: LowerContext) => (string | undefined)[];

/** Whether a lowering applies to this node, decided from the graph alone (an If only with a constant condition). */
export type LoweringApplies = (node: NodeProto, index: GraphIndex) => boolean;

const table = new Map<string, { lower: Lowering; applies?: LoweringApplies }>();

const key = (domain: string, opType: string) => `${domain === 'ai.onnx' ? '' : domain}::${opType}`;

export function registerLowering(opTypes: string | string[], lowering: Lowering, opts: { domain?: string; applies?: LoweringApplies } = {}): void {
  for (const opType of Array.isArray(opTypes) ? opTypes : [opTypes]) table.set(key(opts.domain ?? '', opType), { lower: lowering, applies: opts.applies });
}

export function findLowering(opType: string, domain: string): Lowering | undefined {
  return table.get(key(domain ?? '', opType))?.lower;
}

/** Whether this node has a lowering that applies to it. */
export function lowersNode(node: NodeProto, index: GraphIndex): boolean {
  const entry = table.get(key(node.domain ?? '', node.opType ?? ''));
  return !!entry && (!entry.applies || entry.applies(node, index));
}

export function loweredOpTypes(): string[] {
  return [...table.keys()].map((k) => (k.startsWith('::') ? k.slice(2) : k));
}
