/**
 * Visitors over every place of a model that can hold nodes or tensors: the
 * main graph, subgraphs in node attributes (If, Loop, Scan) at any depth,
 * training-info graphs and local functions.
 */
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from './types';

/** Subgraphs held by one node's attributes. */
export function nodeSubgraphs(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

/** Calls fn on a graph and on every graph nested inside its nodes, depth first. */
export function forEachGraphIn(graph: GraphProto, fn: (g: GraphProto, depth: number) => void, depth = 0): void {
  fn(graph, depth);
  for (const node of graph.node ?? []) {
    for (const sub of nodeSubgraphs(node)) forEachGraphIn(sub, fn, depth + 1);
  }
}

/** Every node list of a model: graphs (nested too), training graphs, functions. */
export function forEachNodeList(model: ModelProto, fn: (nodes: NodeProto[]) => void): void {
  const graphs: GraphProto[] = [];
  if (model.graph) forEachGraphIn(model.graph, (g) => graphs.push(g));
  for (const ti of model.trainingInfo ?? []) {
    if (ti.initialization) forEachGraphIn(ti.initialization, (g) => graphs.push(g));
    if (ti.algorithm) forEachGraphIn(ti.algorithm, (g) => graphs.push(g));
  }
  for (const g of graphs) fn(g.node ?? []);
  for (const f of model.functions ?? []) {
    fn(f.node ?? []);
    for (const node of f.node ?? []) {
      for (const sub of nodeSubgraphs(node)) forEachGraphIn(sub, (g) => fn(g.node ?? []));
    }
  }
}

function attributeTensors(a: AttributeProto): TensorProto[] {
  const out: TensorProto[] = [];
  if (a.t) out.push(a.t);
  for (const t of a.tensors ?? []) out.push(t);
  for (const s of [a.sparseTensor, ...(a.sparseTensors ?? [])]) {
    if (s?.values) out.push(s.values);
    if (s?.indices) out.push(s.indices);
  }
  return out;
}

/**
 * Calls fn on every TensorProto a model holds: initializers, sparse
 * initializers, tensor attributes (Constant values), in every graph.
 */
export function forEachTensor(model: ModelProto, fn: (t: TensorProto) => void): void {
  const visitGraph = (g: GraphProto) => {
    for (const t of g.initializer ?? []) fn(t);
    for (const s of g.sparseInitializer ?? []) {
      if (s.values) fn(s.values);
      if (s.indices) fn(s.indices);
    }
  };
  if (model.graph) forEachGraphIn(model.graph, visitGraph);
  for (const ti of model.trainingInfo ?? []) {
    if (ti.initialization) forEachGraphIn(ti.initialization, visitGraph);
    if (ti.algorithm) forEachGraphIn(ti.algorithm, visitGraph);
  }
  forEachNodeList(model, (nodes) => {
    for (const n of nodes) for (const a of n.attribute ?? []) attributeTensors(a).forEach(fn);
  });
  for (const f of model.functions ?? []) {
    for (const a of f.attributeProto ?? []) attributeTensors(a).forEach(fn);
  }
}
