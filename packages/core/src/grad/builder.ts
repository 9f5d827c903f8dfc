/**
 * Appends a backward subgraph, in standard ONNX ops only, to a copy of a
 * model, so that one ordinary inference session returns, for every row of a
 * batch, the selected output value and its gradient with respect to chosen
 * tensors. Only tensors that depend on those tensors are differentiated;
 * weights never are.
 */
import type { ModelProto, NodeProto } from '../onnx/types';
import { DataType } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { GraphIndex, NameScope, opsetVersion, nodeDependencies, promoteIr3Initializers } from '../onnx/graph';
import { nodeLabel } from '../onnx/attributes';
import { makeValueInfo } from '../onnx/builder';
import { Emitter, GradientError, isFloatType } from './emitter';
import { differentiablePaths, ruleFor } from './paths';
import type { RuleSet } from './ruleSets';
import { explainedOutput } from '../inspect';
import type { ShapeTable, SymDim } from './shapes';
import './rules';

/** What to differentiate: per batch row, one value of the chosen output. */
export type Target =
  /** the class index on the last axis, one per row, fed as an int64 input */
  | { kind: 'class' }
  /** one element, indexed over the non-batch axes */
  | { kind: 'index'; index: number[] }
  /** the sum of the whole output row */
  | { kind: 'sum' };

export interface GradientRequest {
  /** Model output to explain (default: the first). */
  output?: string;
  target: Target;
  /** Graph inputs or intermediate tensors to differentiate with respect to. */
  wrt: string[];
  /**
   * Intermediate tensors of `wrt` to cut the graph at: they become inputs of
   * the rewritten model (for example an embedding output, so a text model is
   * fed embeddings instead of token ids).
   */
  cut?: string[];
  /** Static shapes with a symbolic batch, from probeShapes. */
  shapes: ShapeTable;
  /** Local rules to change (Guided Backprop, Deconvolution): ruleSets.ts. Default: the standard rules. */
  rules?: RuleSet;
}

export interface GradientModel {
  model: ModelProto;
  /** The explained output of the model. */
  output: string;
  /** Output holding the differentiated value per row, shape [N]. */
  selected: string;
  /** Output name of the gradient of each `wrt` tensor. */
  gradients: Record<string, string>;
  /** The int64 [N] input carrying class indices, for target kind 'class'. */
  targetInput?: string;
  /** Tensors turned into inputs by `cut`. */
  cutInputs: string[];
}

/** Raised when the graph has an op without a gradient rule; methods fall back to finite differences. */
export class MissingGradientError extends GradientError {
  constructor(readonly opType: string, readonly nodeName: string, message: string) {
    super(message);
    this.name = 'MissingGradientError';
  }
}

function valueInfoFromShape(name: string, type: number, dims: SymDim[]) {
  return makeValueInfo(name, type, dims.map((d) => (typeof d === 'number' ? d : d === 'N' ? 'N' : null)));
}

/** Removes nodes none of whose outputs are used (after a cut), repeatedly, then unused initializers. */
function pruneDeadNodes(model: ModelProto): void {
  const graph = model.graph!;
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  for (;;) {
    const used = new Set<string>(outputs as Set<string>);
    for (const n of graph.node ?? []) for (const d of nodeDependencies(n)) used.add(d);
    const keep = (graph.node ?? []).filter((n) => (n.output ?? []).some((o) => o && used.has(o)));
    if (keep.length === graph.node!.length) {
      // and the weights only the removed nodes read
      graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name!));
      return;
    }
    graph.node = keep;
  }
}

/**
 * Makes intermediate tensors inputs of the model (in place): their producers'
 * outputs are renamed and nodes left without consumers are removed. Returns
 * the names that became inputs. Used for layer attribution: a text model cut
 * at its embedding output is fed embeddings instead of token ids.
 */
export function cutGraph(model: ModelProto, names: string[], shapes: ShapeTable, scope = new NameScope(model)): string[] {
  const graph = model.graph!;
  const cutInputs: string[] = [];
  for (const name of names) {
    const producer = (graph.node ?? []).find((n) => (n.output ?? []).includes(name));
    if (!producer) {
      if ((graph.input ?? []).some((i) => i.name === name)) continue; // already an input
      throw new GradientError(`cannot cut at '${name}': no node produces it`);
    }
    const s = shapes.get(name);
    if (!s) throw new GradientError(`cannot cut at '${name}': its shape is unknown`);
    producer.output = producer.output!.map((o) => (o === name ? scope.fresh(`${name}/uncut`) : o));
    graph.input = [...(graph.input ?? []), valueInfoFromShape(name, s.type, s.dims)];
    cutInputs.push(name);
  }
  if (cutInputs.length) pruneDeadNodes(model);
  return cutInputs;
}

export function buildGradientModel(source: ModelProto, req: GradientRequest): GradientModel {
  const model = cloneModel(source);
  const graph = model.graph!;
  const opset = opsetVersion(model, '');
  if (opset === undefined) throw new GradientError('the model imports no default-domain (ai.onnx) opset');
  promoteIr3Initializers(model);
  const shapes = req.shapes;
  const names = new NameScope(model);

  // 1. cut the graph at intermediate tensors
  const cutInputs = req.cut?.length ? cutGraph(model, req.cut, shapes, names) : [];

  const index = new GraphIndex(graph);
  // the output coverage and the engine explain by default: the first floating-point one
  const outputName = req.output ?? explainedOutput(model);
  if (!outputName || !(graph.output ?? []).some((o) => o.name === outputName)) {
    throw new GradientError(`the model has no output '${req.output}'; its outputs are ${(graph.output ?? []).map((o) => o.name).join(', ')}`);
  }
  const known = new Set([...(graph.input ?? []).map((i) => i.name!), ...index.producers.keys()]);
  for (const w of req.wrt) if (!known.has(w)) throw new GradientError(`unknown tensor '${w}': it is neither a graph input nor a node output`);

  const typeOf = (name: string) => shapes.get(name)?.type ?? index.elemType(name);

  // 2-3. tensors on a differentiable path from wrt to the output (the analysis coverage reports from)
  const paths = differentiablePaths(graph, { output: outputName, wrt: req.wrt, opset, typeOf, index });
  const order = paths.order;
  if (!paths.depends.has(outputName)) {
    throw new GradientError(`output '${outputName}' does not depend on ${req.wrt.map((w) => `'${w}'`).join(', ')}`);
  }
  const active = paths.active;

  // 4. the seed: d(selected)/d(output)
  const e = new Emitter(opset, names, shapes, index);
  const yShape = shapes.get(outputName)?.dims;
  const yType = typeOf(outputName);
  if (!yShape || yType === undefined) throw new GradientError(`the shape of output '${outputName}' is unknown`);
  if (!isFloatType(yType)) throw new GradientError(`output '${outputName}' is not a floating-point tensor`);
  e.floatType = yType;
  const rank = yShape.length;
  let seed: string;
  let targetInput: string | undefined;
  if (req.target.kind === 'sum') {
    seed = e.expandLike(e.constF([1], [], outputName), outputName);
  } else if (req.target.kind === 'class') {
    const classes = yShape[rank - 1];
    if (typeof classes !== 'number') throw new GradientError(`output '${outputName}' has no static class axis`);
    targetInput = names.fresh('target');
    graph.input = [...(graph.input ?? []), makeValueInfo(targetInput, DataType.INT64, ['N'])];
    const t = e.reshape(targetInput, [-1, ...Array(rank - 1).fill(1)]);
    const hit = e.op('Equal', [t, e.constI64([...Array(classes).keys()], [classes])]);
    seed = e.expandLike(e.castLike(hit, outputName), outputName);
  } else {
    const idx = req.target.index;
    const dims = yShape.slice(1);
    if (idx.length !== dims.length || idx.some((v, i) => typeof dims[i] !== 'number' || v < 0 || v >= (dims[i] as number))) {
      throw new GradientError(`target index [${idx.join(', ')}] does not fit output '${outputName}' of shape [${yShape.join(', ')}] (index the non-batch axes)`);
    }
    const n = (dims as number[]).reduce((a, b) => a * b, 1);
    const onehot = new Float32Array(n);
    onehot[idx.reduce((flat, v, i) => flat * (dims[i] as number) + v, 0)] = 1;
    seed = e.expandLike(e.constTensor(onehot, [1, ...(dims as number[])], outputName), outputName);
  }
  const selectedRaw = req.target.kind === 'sum' ? outputName : e.mul(outputName, seed);
  const selected = e.reduceSum(selectedRaw, [...Array(rank).keys()].slice(1), false);

  // 5. the reverse walk
  const contributions = new Map<string, string[]>([[outputName, [seed]]]);
  const gradOf = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list?.length) return undefined;
    if (list.length > 1) {
      const total = e.sumAll(list);
      contributions.set(name, [total]);
      return total;
    }
    return list[0];
  };
  // a rule set may scale a tensor's whole gradient by its value (LRP's input hooks): once, when the gradient is complete
  const scaled = new Map<string, string | undefined>();
  const finished = (name: string): string | undefined => {
    if (!req.rules?.scalesTensor) return gradOf(name);
    if (!scaled.has(name)) {
      const g = gradOf(name);
      const consumers = index.consumersOf(name).filter((c) => c.inputIndex >= 0 && (c.node.output ?? []).some((o) => active(o)));
      scaled.set(name, g && req.rules.scalesTensor(consumers, opset) ? e.mul(g, name) : g);
    }
    return scaled.get(name);
  };
  for (const node of [...order].reverse()) {
    if (!(node.output ?? []).some((o) => active(o))) continue;
    const dY = (node.output ?? []).map((o) => (o && active(o) ? finished(o) : undefined));
    if (dY.every((g) => g === undefined)) continue;
    const x = node.input ?? [];
    const needs = x.map((i) => !!i && active(i));
    // a subgraph (If, Loop, Scan) reading a differentiated tensor from the outer scope is a path too: without a rule it must not be skipped as if it were none
    if (!needs.some(Boolean) && !nodeDependencies(node).some((d) => active(d))) continue;
    const rule = req.rules?.override(node, opset) ?? ruleFor(node, opset)?.rule;
    if (!rule) {
      const domain = node.domain ? `${node.domain}::` : '';
      throw new MissingGradientError(
        node.opType ?? '?',
        node.name ?? '',
        `no gradient rule for op ${domain}${node.opType} at opset ${opset} (${nodeLabel(node)}); use finite differences for this model`,
      );
    }
    const grads = rule({ node, opset, e, dY, needs, x, y: node.output ?? [] });
    grads.forEach((g, i) => {
      if (g && needs[i]) {
        const list = contributions.get(x[i]) ?? [];
        list.push(g);
        contributions.set(x[i], list);
      }
    });
  }

  // 6. outputs
  const gradients: Record<string, string> = {};
  const newOutputs = [valueInfoFromShape(selected, yType, ['N'])];
  for (const w of req.wrt) {
    const g = finished(w) ?? e.zerosLike(w);
    const out = names.fresh(`${w}/grad`);
    e.nodes.push({ opType: 'Identity', input: [g], output: [out], name: names.fresh('grad/output') } as NodeProto);
    const s = shapes.get(w);
    newOutputs.push(s ? valueInfoFromShape(out, s.type, s.dims) : { name: out });
    gradients[w] = out;
  }
  graph.node = [...(graph.node ?? []), ...e.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...e.initializers];
  graph.output = [...(graph.output ?? []), ...newOutputs];
  return { model, output: outputName, selected, gradients, targetInput, cutInputs };
}
