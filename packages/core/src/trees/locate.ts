/**
 * Where a model's tree ensemble is, and what stands between it and the
 * model's inputs and outputs. TreeSHAP reads the trees themselves, so it
 * needs the input the trees split on: a graph input, or one reached
 * through ops that act on each feature alone (a Cast, a Scaler, an Imputer,
 * arithmetic with a constant), whose values are then computed by running
 * the model up to the trees; the Shapley values of the transformed features
 * are the original features' (one to one). Anything that mixes features
 * (a Concat, a Normalizer, a Gather) is refused, naming the op.
 */
import type { ModelProto, NodeProto } from '../onnx/types';
import { normalizeDomain } from '../onnx/graph';
import { readForest, TREE_ENSEMBLE_OPS } from './readForest';
import type { Forest } from './forest';

export interface LocatedForest {
  node: NodeProto;
  forest: Forest;
  /** The graph input the features come from. */
  input: string;
  /** The tensor the trees split on (the input itself, or what the per-feature ops make of it). */
  treeInput: string;
  /** The ops between them, in graph order (empty when the trees read the input). */
  prefix: NodeProto[];
  /** The tree node's score output (a classifier's second, a regressor's first). */
  scores: string;
}

/** Ops that act on each feature alone, so feature i of their output is a function of feature i of their input. */
const PER_FEATURE = new Set(['Cast', 'Identity', 'ai.onnx.ml::Scaler', 'ai.onnx.ml::Imputer', 'Abs', 'Neg', 'Clip', 'Relu', 'Sqrt', 'Log', 'Exp']);
/** Elementwise arithmetic, per feature when its other operand is a constant. */
const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div']);

export function locateForest(model: ModelProto): LocatedForest {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const trees = nodes.filter((n) => normalizeDomain(n.domain) === 'ai.onnx.ml' && TREE_ENSEMBLE_OPS.includes(n.opType ?? ''));
  if (!trees.length) throw new Error('the model has no tree-ensemble node (ai.onnx.ml TreeEnsembleClassifier, TreeEnsembleRegressor or TreeEnsemble): tree-shap reads one; explain it with kernel-shap');
  if (trees.length > 1) {
    throw new Error(`the model has ${trees.length} tree-ensemble nodes (${trees.map((n) => n.name || n.opType).join(', ')}): tree-shap reads one ensemble; explain the model with kernel-shap`);
  }
  const node = trees[0];
  const forest = readForest(node);
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const constants = new Set([...(graph.initializer ?? []).map((t) => t.name!), ...nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.output ?? [])]);
  const inputs = new Set((graph.input ?? []).map((i) => i.name!).filter((n) => !constants.has(n)));
  const prefix: NodeProto[] = [];
  let t = node.input![0];
  while (!inputs.has(t)) {
    const p = producer.get(t);
    if (!p) throw new Error(`the trees read '${t}', which neither a graph input nor a node makes`);
    const key = normalizeDomain(p.domain) ? `${normalizeDomain(p.domain)}::${p.opType}` : p.opType ?? '';
    // the varying operand: the first, or for arithmetic with the constant first (2 * x), the second
    const operands = (p.input ?? []).filter(Boolean);
    const varying = ARITHMETIC.has(key) && operands.length === 2 && constants.has(operands[0]) ? operands[1] : operands[0];
    const others = operands.filter((o) => o !== varying);
    const perFeature = PER_FEATURE.has(key) || (ARITHMETIC.has(key) && others.every((o) => constants.has(o)));
    if (!perFeature || constants.has(varying)) {
      throw new Error(
        `the trees read their features through ${key} ('${p.name || p.output![0]}'), which ${ARITHMETIC.has(key) ? 'combines two tensors' : 'may mix features'}: tree-shap can only follow ops that act on each feature alone; explain the model with kernel-shap`,
      );
    }
    prefix.unshift(p);
    t = varying;
  }
  const scores = node.opType === 'TreeEnsembleClassifier' ? node.output![1] : node.output![0];
  if (!scores) throw new Error(`${forest.node} has no score output`);
  return { node, forest, input: t, treeInput: node.input![0], prefix, scores };
}
