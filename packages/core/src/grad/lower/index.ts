/**
 * The lowering pass: every node whose op has no gradient rule but has a
 * lowering (registry.ts) is replaced, in place, by the standard ops its
 * lowering emits, at the static shapes the probe found. The result computes
 * the same outputs under the same names; the gradient builder then
 * differentiates it. Whether it really computes the same is checked by
 * running both (checkLowering, in methods/engine.ts), never assumed.
 */
import type { ModelProto, NodeProto } from '../../onnx/types';
import { DataType } from '../../onnx/types';
import { cloneModel } from '../../onnx/codec';
import { GraphIndex, NameScope, opsetVersion, promoteIr3Initializers } from '../../onnx/graph';
import { nodeLabel } from '../../onnx/attributes';
import { Emitter, GradientError } from '../emitter';
import { notDifferentiated, ruleFor } from '../paths';
import type { ShapeTable } from '../shapes';
import { findLowering, lowersNode } from './registry';
import './recurrent';
import './contrib';
import './attention';
import './control';
import './rotary';

export { findLowering, loweredOpTypes } from './registry';

export interface LoweredModel {
  model: ModelProto;
  /** The nodes replaced, as 'LSTM (LSTM_9)'. */
  lowered: string[];
  /** Nodes that have a lowering that refused them, with why. */
  refused: { node: string; reason: string }[];
}

/** Whether a node is one the gradient builder would need a lowering for, and has one that applies. */
export function needsLowering(node: NodeProto, opset: number, index: GraphIndex): boolean {
  return !notDifferentiated(node) && !ruleFor(node, opset) && lowersNode(node, index);
}

/** The model with every lowerable node lowered (a copy; the input is not changed). */
export function lowerModel(source: ModelProto, shapes: ShapeTable): LoweredModel {
  const opset = opsetVersion(source, '') ?? 0;
  const lowered: string[] = [];
  const refused: LoweredModel['refused'] = [];
  const sourceIndex = new GraphIndex(source.graph ?? {});
  if (!(source.graph?.node ?? []).some((n) => needsLowering(n, opset, sourceIndex))) return { model: source, lowered, refused };
  const model = cloneModel(source);
  promoteIr3Initializers(model);
  const graph = model.graph!;
  const index = new GraphIndex(graph);
  const names = new NameScope(model);
  const nodes: NodeProto[] = [];
  const initializers = [];
  for (const node of graph.node ?? []) {
    if (!needsLowering(node, opset, index)) {
      nodes.push(node);
      continue;
    }
    const label = `${node.domain ? `${node.domain}::` : ''}${node.opType} (${node.name || (node.output ?? [])[0]})`;
    const e = new Emitter(opset, names, shapes, index, `lower/${node.name || node.opType}`);
    const inputType = shapes.get(node.input?.[0] ?? '')?.type;
    e.floatType = inputType === DataType.DOUBLE || inputType === DataType.FLOAT16 ? inputType : DataType.FLOAT;
    try {
      const outs = findLowering(node.opType ?? '', node.domain ?? '')!({ node, opset, e, x: node.input ?? [], y: node.output ?? [] });
      (node.output ?? []).forEach((y, i) => {
        if (!y) return;
        const v = outs[i];
        if (!v) {
          // an output nobody reads (SkipSimplifiedLayerNormalization's mean) need not be computed
          if (!index.consumersOf(y).length && !index.outputs.has(y)) return;
          throw new GradientError(`${nodeLabel(node)}: output ${i} ('${y}') is not produced by the lowering`);
        }
        if (v === y) return; // emitted under its own name already
        e.nodes.push({ opType: 'Identity', input: [v], output: [y], name: e.fresh('output') } as NodeProto);
      });
    } catch (err) {
      if (!(err instanceof GradientError)) throw err;
      refused.push({ node: label, reason: err.message });
      nodes.push(node);
      continue;
    }
    nodes.push(...e.nodes);
    initializers.push(...e.initializers);
    lowered.push(label);
  }
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  return { model, lowered, refused };
}

/**
 * The lowered nodes in a line: each one ('LSTM (LSTM_9), LSTM (LSTM_20)') when
 * there are three or fewer, else counted by op type ('5 x com.microsoft::Attention, ...').
 */
export function describeLowered(lowered: string[]): string {
  if (lowered.length <= 3) return lowered.join(', ');
  const counts = new Map<string, number>();
  for (const l of lowered) {
    const op = l.split(' (')[0];
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].map(([op, n]) => `${n} x ${op}`).join(', ');
}
