/**
 * Which tensors lie on a differentiable path from the attributed tensors to
 * the explained output: the one analysis buildGradientModel differentiates
 * by and gradientCoverage reports from, so `inspect` never promises what
 * `attribute` cannot do. A tensor depends on `wrt` when a node that is not
 * piecewise constant (registry.ts's NON_DIFFERENTIABLE) reads a dependent
 * tensor, directly or from a subgraph, and the output is a float (or of
 * unknown type); it affects the output when the output reads it.
 */
import type { GraphProto, NodeProto } from '../onnx/types';
import { GraphIndex, nodeDependencies, normalizeDomain } from '../onnx/graph';
import { isFloatType } from './emitter';
import { findGradient, NON_DIFFERENTIABLE } from './registry';

export interface DifferentiablePaths {
  order: NodeProto[];
  depends: Set<string>;
  affects: Set<string>;
  /** On a path: depends on wrt and affects the output. */
  active(name: string): boolean;
  /** A node on a path: it reads a dependent tensor and writes an active one. */
  onPath(node: NodeProto): boolean;
}

/** The op's rule, with its domain written either way ('' or 'ai.onnx'). */
export const ruleFor = (node: NodeProto, opset: number) => findGradient(node.opType ?? '', normalizeDomain(node.domain), opset);

/** Piecewise constant or not a number: its outputs never carry a gradient. */
export const notDifferentiated = (node: NodeProto) => !normalizeDomain(node.domain) && NON_DIFFERENTIABLE.has(node.opType ?? '');

export function differentiablePaths(
  graph: GraphProto,
  opts: { output: string; wrt: string[]; opset: number; typeOf: (name: string) => number | undefined; index?: GraphIndex },
): DifferentiablePaths {
  const index = opts.index ?? new GraphIndex(graph);
  const order = index.topologicalOrder();
  const depends = new Set(opts.wrt);
  for (const node of order) {
    if (!nodeDependencies(node).some((d) => depends.has(d))) continue;
    if (notDifferentiated(node)) continue;
    const entry = ruleFor(node, opts.opset);
    (node.output ?? []).forEach((o, i) => {
      if (!o || entry?.nonDifferentiableOutputs?.includes(i)) return;
      const t = opts.typeOf(o);
      if (t === undefined || isFloatType(t)) depends.add(o);
    });
  }
  const affects = new Set([opts.output]);
  for (const node of [...order].reverse()) {
    if ((node.output ?? []).some((o) => affects.has(o))) for (const d of nodeDependencies(node)) affects.add(d);
  }
  const active = (name: string) => depends.has(name) && affects.has(name);
  return {
    order,
    depends,
    affects,
    active,
    onPath: (node) => nodeDependencies(node).some((d) => depends.has(d)) && (node.output ?? []).some((o) => active(o)),
  };
}
