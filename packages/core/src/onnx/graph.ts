/**
 * Read-only indexes over a graph: who produces and who consumes each tensor,
 * initializers and Constant values, value info and shapes, and a topological
 * order. Build a GraphIndex once, after the graph is complete; it does not
 * follow later edits.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto, TypeProto } from './types';
import { DataType } from './types';
import { toNumber } from './int64';
import { findAttribute, nodeLabel } from './attributes';
import { nodeSubgraphs, forEachGraphIn } from './walk';

export interface NodeRef {
  node: NodeProto;
  /** Position of the node in graph.node. */
  nodeIndex: number;
}
export interface ProducerRef extends NodeRef {
  outputIndex: number;
}
export interface ConsumerRef extends NodeRef {
  /** Position in node.input, or -1 when the node uses the name only inside a subgraph. */
  inputIndex: number;
}

/** A dimension: a number when known, a symbolic name (dim_param), or null when unknown. */
export type Dim = number | string | null;

/** The domain of the default ONNX operator set may be written '' or 'ai.onnx'. */
export function normalizeDomain(domain: string | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

/** The opset version a model imports for a domain ('' = default ONNX ops), or undefined. */
export function opsetVersion(model: ModelProto, domain = ''): number | undefined {
  const want = normalizeDomain(domain);
  const entry = (model.opsetImport ?? []).find((o) => normalizeDomain(o.domain) === want);
  return entry ? toNumber(entry.version, 'opset version') : undefined;
}

/** Names a graph uses but does not define: for a subgraph, what it takes from the enclosing scope. */
export function outerScopeNames(graph: GraphProto): Set<string> {
  const defined = new Set<string>();
  for (const i of graph.input ?? []) defined.add(i.name ?? '');
  for (const t of graph.initializer ?? []) defined.add(t.name ?? '');
  for (const s of graph.sparseInitializer ?? []) defined.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const used = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) if (i && !defined.has(i)) used.add(i);
    for (const sub of nodeSubgraphs(n)) for (const i of outerScopeNames(sub)) if (!defined.has(i)) used.add(i);
  }
  for (const o of graph.output ?? []) if (o.name && !defined.has(o.name)) used.add(o.name);
  return used;
}

/** Explicit inputs of a node plus the outer-scope names its subgraphs read. */
export function nodeDependencies(node: NodeProto): string[] {
  const deps = (node.input ?? []).filter((i) => i !== '');
  for (const sub of nodeSubgraphs(node)) for (const name of outerScopeNames(sub)) deps.push(name);
  return deps;
}

function scalarTensor(name: string, dataType: number, values: number[], scalar: boolean): TensorProto {
  const t: TensorProto = { name, dataType, dims: scalar ? [] : [values.length] };
  if (dataType === DataType.FLOAT) t.floatData = values;
  else t.int64Data = values;
  return t;
}

export class GraphIndex {
  readonly producers = new Map<string, ProducerRef>();
  readonly consumers = new Map<string, ConsumerRef[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly inputs = new Map<string, ValueInfoProto>();
  readonly outputs = new Map<string, ValueInfoProto>();
  readonly valueInfos = new Map<string, ValueInfoProto>();

  constructor(readonly graph: GraphProto) {
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? '', t);
    for (const v of graph.input ?? []) this.inputs.set(v.name ?? '', v);
    for (const v of graph.output ?? []) this.outputs.set(v.name ?? '', v);
    for (const v of graph.valueInfo ?? []) this.valueInfos.set(v.name ?? '', v);
    (graph.node ?? []).forEach((node, nodeIndex) => {
      (node.output ?? []).forEach((name, outputIndex) => {
        if (name) this.producers.set(name, { node, nodeIndex, outputIndex });
      });
      (node.input ?? []).forEach((name, inputIndex) => {
        if (name) this.addConsumer(name, { node, nodeIndex, inputIndex });
      });
      for (const sub of nodeSubgraphs(node)) {
        for (const name of outerScopeNames(sub)) this.addConsumer(name, { node, nodeIndex, inputIndex: -1 });
      }
    });
  }

  private addConsumer(name: string, ref: ConsumerRef): void {
    const list = this.consumers.get(name);
    if (list) list.push(ref);
    else this.consumers.set(name, [ref]);
  }

  producer(name: string): ProducerRef | undefined {
    return this.producers.get(name);
  }

  consumersOf(name: string): ConsumerRef[] {
    return this.consumers.get(name) ?? [];
  }

  /**
   * A graph input that has an initializer of the same name is an overridable
   * default (IR >= 4), not a constant.
   */
  isConstant(name: string): boolean {
    return this.constantValue(name) !== undefined;
  }

  /** The value of a tensor fixed at graph-build time: a non-overridable initializer or a Constant node's output. */
  constantValue(name: string): TensorProto | undefined {
    const init = this.initializers.get(name);
    if (init) return this.inputs.has(name) ? undefined : init;
    const p = this.producers.get(name);
    if (!p || p.node.opType !== 'Constant' || p.node.domain) return undefined;
    return constantNodeValue(p.node);
  }

  /** Type information for a tensor, from graph inputs, outputs or value_info. */
  valueInfo(name: string): ValueInfoProto | undefined {
    return this.inputs.get(name) ?? this.outputs.get(name) ?? this.valueInfos.get(name);
  }

  /** The element type of a tensor, from value info or its initializer. */
  elemType(name: string): number | undefined {
    const init = this.initializers.get(name);
    if (init) return init.dataType;
    return this.valueInfo(name)?.type?.tensorType?.elemType;
  }

  /** The shape of a tensor, when known: from value info or its initializer/Constant. */
  shape(name: string): Dim[] | undefined {
    const c = this.initializers.get(name) ?? this.constantValue(name);
    if (c) return (c.dims ?? []).map((d) => toNumber(d));
    return typeShape(this.valueInfo(name)?.type);
  }

  /** Nodes in an order where every node comes after the producers of its inputs (subgraph reads included). */
  topologicalOrder(): NodeProto[] {
    const nodes = this.graph.node ?? [];
    const pending = nodes.map((n) => nodeDependencies(n).filter((d) => this.producers.has(d)).length);
    const waiting = new Map<string, number[]>();
    nodes.forEach((n, i) => {
      for (const d of nodeDependencies(n)) {
        if (!this.producers.has(d)) continue;
        const list = waiting.get(d);
        if (list) list.push(i);
        else waiting.set(d, [i]);
      }
    });
    const ready: number[] = [];
    pending.forEach((p, i) => p === 0 && ready.push(i));
    const order: NodeProto[] = [];
    while (ready.length) {
      const i = ready.shift()!;
      order.push(nodes[i]);
      for (const out of nodes[i].output ?? []) {
        for (const j of waiting.get(out) ?? []) if (--pending[j] === 0) ready.push(j);
      }
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.filter((_, i) => pending[i] > 0).slice(0, 5).map(nodeLabel);
      throw new Error(`graph '${this.graph.name ?? ''}' has a cycle; nodes that never become ready: ${stuck.join(', ')}`);
    }
    return order;
  }
}

/** The shape in a TypeProto (tensor or sparse tensor), or undefined when it has none. */
export function typeShape(type: TypeProto | undefined): Dim[] | undefined {
  const shape = type?.tensorType?.shape ?? type?.sparseTensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    if (Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue !== undefined && d.dimValue !== null) {
      return toNumber(d.dimValue);
    }
    return d.dimParam ? d.dimParam : null;
  });
}

/** The value of a Constant node as a TensorProto (value, value_float(s), value_int(s) forms). */
export function constantNodeValue(node: NodeProto): TensorProto | undefined {
  const out = node.output?.[0] ?? '';
  const a = node.attribute?.[0];
  if (!a) return undefined;
  switch (a.name) {
    case 'value': return a.t;
    case 'value_float': return scalarTensor(out, DataType.FLOAT, [a.f ?? 0], true);
    case 'value_floats': return scalarTensor(out, DataType.FLOAT, [...(a.floats ?? [])], false);
    case 'value_int': return scalarTensor(out, DataType.INT64, [toNumber(a.i)], true);
    case 'value_ints': return scalarTensor(out, DataType.INT64, (a.ints ?? []).map((v) => toNumber(v)), false);
    default: return findAttribute(node, 'value')?.t;
  }
}

/**
 * Hands out tensor and node names that clash with nothing in a model: every
 * name used anywhere in it, nested subgraphs and functions included, is taken.
 */
export class NameScope {
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(model?: ModelProto | GraphProto) {
    if (!model) return;
    const graph = 'graph' in model && model.graph ? model.graph : (model as GraphProto);
    forEachGraphIn(graph, (g) => this.reserveGraph(g));
    for (const f of (model as ModelProto).functions ?? []) {
      for (const n of f.node ?? []) this.reserveNode(n);
      for (const n of [...(f.input ?? []), ...(f.output ?? [])]) this.taken.add(n);
    }
  }

  private reserveGraph(g: GraphProto): void {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) this.taken.add(v.name ?? '');
    for (const t of g.initializer ?? []) this.taken.add(t.name ?? '');
    for (const n of g.node ?? []) this.reserveNode(n);
  }

  private reserveNode(n: NodeProto): void {
    if (n.name) this.taken.add(n.name);
    for (const x of [...(n.input ?? []), ...(n.output ?? [])]) this.taken.add(x);
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  reserve(name: string): void {
    this.taken.add(name);
  }

  /** A new name starting with base, reserved at once. */
  fresh(base: string): string {
    let name = base;
    let k = this.counters.get(base) ?? 0;
    while (this.taken.has(name)) name = `${base}_${++k}`;
    this.counters.set(base, k);
    this.taken.add(name);
    return name;
  }
}

/**
 * IR 3 requires every initializer to be listed as a graph input as well,
 * which from IR 4 on would make it an overridable input rather than a
 * constant. Nobody feeds those inputs, so moving such a model to IR 4 and
 * unlisting its initializers keeps its meaning and lets them be read as the
 * constants they are. Changes the model in place; returns whether it did.
 */
export function promoteIr3Initializers(model: ModelProto): boolean {
  if (toNumber(model.irVersion) >= 4 || !model.graph) return false;
  const inits = new Set((model.graph.initializer ?? []).map((t) => t.name));
  model.graph.input = (model.graph.input ?? []).filter((i) => !inits.has(i.name));
  model.irVersion = 4;
  return true;
}
