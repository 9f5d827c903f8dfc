/**
 * Reads an ONNX-ML tree-ensemble node into a Forest (forest.ts): every
 * attribute spelling of TreeEnsembleClassifier / TreeEnsembleRegressor
 * (ai.onnx.ml opsets 1 to 3: nodes_*, class_* or target_*, and opset 3's
 * *_as_tensor) and of TreeEnsemble (ai.onnx.ml opset 5: tree_roots,
 * leaves apart from the nodes, coded modes, membership sets). Checked while
 * read: every child id in range, no cycle, no node reached twice, a mode or
 * transform it does not know, each named with the node and the attribute.
 */
import type { NodeProto } from '../onnx/types';
import { attrInts, attrFloats, attrStrings, attrString, attrInt, attrTensor } from '../onnx/attributes';
import { tensorToArray } from '../onnx/tensor';
import type { Forest, Tree, SplitMode, Aggregate, PostTransform } from './forest';

export const TREE_ENSEMBLE_OPS = ['TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'TreeEnsemble'];

export class ForestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForestError';
  }
}

const MODES: Record<string, SplitMode | 'LEAF'> = {
  BRANCH_LEQ: 'LEQ',
  BRANCH_LT: 'LT',
  BRANCH_GTE: 'GTE',
  BRANCH_GT: 'GT',
  BRANCH_EQ: 'EQ',
  BRANCH_NEQ: 'NEQ',
  BRANCH_MEMBER: 'MEMBER',
  LEAF: 'LEAF',
};
/** TreeEnsemble (opset 5) codes. */
const MODE_CODES: SplitMode[] = ['LEQ', 'LT', 'GTE', 'GT', 'EQ', 'NEQ', 'MEMBER'];
const TRANSFORMS: PostTransform[] = ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT'];
/**
 * TreeEnsemble (opset 5) post_transform codes as onnxruntime reads them:
 * 1 LOGISTIC and 2 SOFTMAX, the reverse of the spec's table (checked on
 * onnxruntime 1.30); the model computes what its runtime computes.
 */
const TRANSFORM_CODES: PostTransform[] = ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT'];
const AGGREGATES: Aggregate[] = ['SUM', 'AVERAGE', 'MIN', 'MAX'];
/** TreeEnsemble (opset 5) aggregate_function codes. */
const AGGREGATE_CODES: Aggregate[] = ['AVERAGE', 'SUM', 'MIN', 'MAX'];

function tensorValues(node: NodeProto, name: string): { values: number[]; double: boolean } | undefined {
  const t = attrTensor(node, name);
  if (!t) return undefined;
  const data = tensorToArray(t);
  return { values: Array.from(data as ArrayLike<number | bigint>, Number), double: data instanceof Float64Array };
}

/** A float list, from its tensor form when given (opset 3's *_as_tensor wins), else the floats. */
function floatsOf(node: NodeProto, name: string): { values: number[]; double: boolean } | undefined {
  const t = tensorValues(node, `${name}_as_tensor`);
  if (t) return t;
  const f = attrFloats(node, name);
  return f ? { values: f, double: false } : undefined;
}

/** One tree from flat per-node arrays (indices already local to the tree), checked. */
function buildTree(nodeName: string, treeId: number, ids: number[], root: number, n: number, fill: (t: Tree) => void): Tree {
  const tree: Tree = {
    root,
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    mode: new Array<SplitMode>(n).fill('LEQ'),
    yes: new Int32Array(n).fill(-1),
    no: new Int32Array(n).fill(-1),
    missingYes: new Uint8Array(n),
    members: new Array(n).fill(undefined),
    memberTruncates: new Uint8Array(n),
    leafTargets: Array.from({ length: n }, () => new Int32Array(0)),
    leafWeights: Array.from({ length: n }, () => new Float64Array(0)),
    ids,
    id: treeId,
  };
  fill(tree);
  // every node reached once from the root: no cycle, no shared child
  const seen = new Uint8Array(n);
  const stack = [root];
  while (stack.length) {
    const k = stack.pop()!;
    if (seen[k]) throw new ForestError(`${nodeName}: tree ${treeId} reaches node ${ids[k]} twice (a cycle, or a child shared by two branches): nodes_truenodeids / nodes_falsenodeids`);
    seen[k] = 1;
    if (tree.yes[k] >= 0) stack.push(tree.yes[k], tree.no[k]);
  }
  return tree;
}

function labelsOf(node: NodeProto): (number | string)[] | undefined {
  return attrInts(node, 'classlabels_int64s') ?? attrStrings(node, 'classlabels_strings');
}

/** Opsets 1 to 3: TreeEnsembleClassifier and TreeEnsembleRegressor. */
function readLegacy(node: NodeProto, name: string): Forest {
  const classifier = node.opType === 'TreeEnsembleClassifier';
  const need = <T>(v: T | undefined, attr: string): T => {
    if (v === undefined) throw new ForestError(`${name}: attribute ${attr} is missing`);
    return v;
  };
  const treeids = need(attrInts(node, 'nodes_treeids'), 'nodes_treeids');
  const nodeids = need(attrInts(node, 'nodes_nodeids'), 'nodes_nodeids');
  const featureids = need(attrInts(node, 'nodes_featureids'), 'nodes_featureids');
  const modes = need(attrStrings(node, 'nodes_modes'), 'nodes_modes');
  const values = floatsOf(node, 'nodes_values') ?? { values: new Array(treeids.length).fill(0), double: false };
  const trueIds = need(attrInts(node, 'nodes_truenodeids'), 'nodes_truenodeids');
  const falseIds = need(attrInts(node, 'nodes_falsenodeids'), 'nodes_falsenodeids');
  const missing = attrInts(node, 'nodes_missing_value_tracks_true') ?? [];
  const hitrates = floatsOf(node, 'nodes_hitrates');
  for (const [attr, arr] of [['nodes_nodeids', nodeids], ['nodes_featureids', featureids], ['nodes_modes', modes], ['nodes_values', values.values], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (arr.length !== treeids.length) throw new ForestError(`${name}: ${attr} has ${arr.length} entries, nodes_treeids ${treeids.length}`);
  }
  const prefix = classifier ? 'class' : 'target';
  const lt = need(attrInts(node, `${prefix}_treeids`), `${prefix}_treeids`);
  const ln = need(attrInts(node, `${prefix}_nodeids`), `${prefix}_nodeids`);
  const li = need(attrInts(node, `${prefix}_ids`), `${prefix}_ids`);
  const lw = need(floatsOf(node, `${prefix}_weights`), `${prefix}_weights`);
  const labels = classifier ? labelsOf(node) : undefined;
  if (classifier && !labels) throw new ForestError(`${name}: neither classlabels_int64s nor classlabels_strings is given`);
  const nTargetsDeclared = classifier ? labels!.length : attrInt(node, 'n_targets', 1);
  // two labels with every weight on one class id: one raw score, two output columns (onnxruntime's binary case)
  const ids = new Set(li);
  const binary = classifier && labels!.length === 2 && ids.size === 1;
  if (binary && !ids.has(0)) {
    throw new ForestError(`${name}: a two-label classifier whose weights all go to class id 1: onnxruntime's binary layout for it (class id 0 with one score) is not this one, and its output here is not reproduced; class_ids 0 is the converters' layout`);
  }
  if (binary && (floatsOf(node, 'base_values')?.values.length ?? 0) > 1) {
    throw new ForestError(`${name}: a two-label classifier with one class id and ${floatsOf(node, 'base_values')!.values.length} base_values: onnxruntime's output for this layout is not a sum over trees ([s + b0, 0]); the converters write one base value`);
  }
  const nTargets = binary ? 1 : nTargetsDeclared;
  for (const id of li) if (id < 0 || id >= nTargets) throw new ForestError(`${name}: ${prefix}_ids holds ${id}, outside 0..${nTargets - 1}`);
  // group node positions by tree, in order of first appearance
  const byTree = new Map<number, number[]>();
  treeids.forEach((t, i) => (byTree.get(t) ?? byTree.set(t, []).get(t)!).push(i));
  const trees: Tree[] = [];
  let width = 0;
  let double = values.double;
  for (const [t, positions] of byTree) {
    const local = new Map<number, number>();
    positions.forEach((p, k) => {
      if (local.has(nodeids[p])) throw new ForestError(`${name}: tree ${t} has node id ${nodeids[p]} twice (nodes_nodeids)`);
      local.set(nodeids[p], k);
    });
    // every child in the tree, then the root: the node no branch points to
    for (const p of positions) {
      if (modes[p] === 'LEAF') continue;
      for (const [attr, id] of [['nodes_truenodeids', trueIds[p]], ['nodes_falsenodeids', falseIds[p]]] as const) {
        if (!local.has(id)) throw new ForestError(`${name}: tree ${t} node ${nodeids[p]} points to node ${id}, which tree ${t} does not have (${attr})`);
      }
    }
    const children = new Set<number>();
    positions.forEach((p) => {
      if (modes[p] !== 'LEAF') children.add(trueIds[p]).add(falseIds[p]);
    });
    const roots = positions.filter((p) => !children.has(nodeids[p]));
    if (roots.length !== 1) throw new ForestError(`${name}: tree ${t} has ${roots.length ? `${roots.length} roots (nodes ${roots.map((p) => nodeids[p]).join(', ')})` : 'no root: every node is some branch\'s child, a cycle'} (nodes_truenodeids / nodes_falsenodeids)`);
    const tree = buildTree(name, t, positions.map((p) => nodeids[p]), local.get(nodeids[roots[0]])!, positions.length, (tr) => {
      positions.forEach((p, k) => {
        const mode = MODES[modes[p]];
        if (!mode) throw new ForestError(`${name}: tree ${t} node ${nodeids[p]} has mode '${modes[p]}' (nodes_modes), not one of ${Object.keys(MODES).join(', ')}`);
        if (mode === 'MEMBER') throw new ForestError(`${name}: tree ${t} node ${nodeids[p]}: BRANCH_MEMBER exists only in TreeEnsemble (ai.onnx.ml opset 5)`);
        if (mode === 'LEAF') return;
        tr.mode[k] = mode;
        tr.feature[k] = featureids[p];
        if (featureids[p] < 0) throw new ForestError(`${name}: tree ${t} node ${nodeids[p]} splits on feature ${featureids[p]} (nodes_featureids)`);
        width = Math.max(width, featureids[p] + 1);
        tr.threshold[k] = values.double ? values.values[p] : Math.fround(values.values[p]);
        tr.missingYes[k] = missing[p] ? 1 : 0;
        for (const [attr, id, side] of [['nodes_truenodeids', trueIds[p], 'yes'], ['nodes_falsenodeids', falseIds[p], 'no']] as const) {
          const c = local.get(id);
          if (c === undefined) throw new ForestError(`${name}: tree ${t} node ${nodeids[p]} points to node ${id}, which tree ${t} does not have (${attr})`);
          tr[side][k] = c;
        }
      });
      const perLeaf = new Map<number, [number, number][]>();
      lt.forEach((tt, i) => {
        if (tt !== t) return;
        const k = local.get(ln[i]);
        if (k === undefined) throw new ForestError(`${name}: ${prefix}_nodeids names node ${ln[i]}, which tree ${t} does not have`);
        if (modes[positions[k]] !== 'LEAF') throw new ForestError(`${name}: ${prefix}_nodeids names node ${ln[i]} of tree ${t}, which is a branch, not a leaf`);
        (perLeaf.get(k) ?? perLeaf.set(k, []).get(k)!).push([li[i], lw.values[i]]);
      });
      for (const [k, ws] of perLeaf) {
        tr.leafTargets[k] = Int32Array.from(ws.map((w) => w[0]));
        tr.leafWeights[k] = Float64Array.from(ws.map((w) => (lw.double ? w[1] : Math.fround(w[1]))));
      }
      if (hitrates) tr.cover = Float64Array.from(positions.map((p) => hitrates.values[p]));
    });
    trees.push(tree);
  }
  double ||= lw.double;
  const base = floatsOf(node, 'base_values');
  const baseValues = new Float64Array(nTargets);
  if (base) {
    if (base.values.length !== nTargets && !(binary && base.values.length === 1)) throw new ForestError(`${name}: base_values has ${base.values.length} values for ${nTargets} targets`);
    base.values.slice(0, nTargets).forEach((v, i) => (baseValues[i] = base.double ? v : Math.fround(v)));
  }
  const transform = attrString(node, 'post_transform', 'NONE') as PostTransform;
  if (!TRANSFORMS.includes(transform)) throw new ForestError(`${name}: post_transform '${transform}' is not one of ${TRANSFORMS.join(', ')}`);
  const aggregate = (classifier ? 'SUM' : attrString(node, 'aggregate_function', 'SUM')) as Aggregate;
  if (!AGGREGATES.includes(aggregate)) throw new ForestError(`${name}: aggregate_function '${aggregate}' is not one of ${AGGREGATES.join(', ')}`);
  return { node: name, opType: node.opType!, trees, nTargets, aggregate, base: baseValues, postTransform: transform, binary, classLabels: labels, width, double };
}

/** Opset 5: TreeEnsemble. */
function readV5(node: NodeProto, name: string): Forest {
  const need = <T>(v: T | undefined, attr: string): T => {
    if (v === undefined) throw new ForestError(`${name}: attribute ${attr} is missing`);
    return v;
  };
  const roots = need(attrInts(node, 'tree_roots'), 'tree_roots');
  const featureids = need(attrInts(node, 'nodes_featureids'), 'nodes_featureids');
  const splits = need(tensorValues(node, 'nodes_splits'), 'nodes_splits');
  const modeCodes = tensorValues(node, 'nodes_modes')?.values ?? new Array(featureids.length).fill(0);
  const trueIds = need(attrInts(node, 'nodes_truenodeids'), 'nodes_truenodeids');
  const falseIds = need(attrInts(node, 'nodes_falsenodeids'), 'nodes_falsenodeids');
  const trueLeaf = attrInts(node, 'nodes_trueleafs') ?? new Array(featureids.length).fill(0);
  const falseLeaf = attrInts(node, 'nodes_falseleafs') ?? new Array(featureids.length).fill(0);
  const missing = attrInts(node, 'nodes_missing_value_tracks_true') ?? [];
  const hitrates = tensorValues(node, 'nodes_hitrates');
  const leafTargets = need(attrInts(node, 'leaf_targetids'), 'leaf_targetids');
  const leafWeights = need(tensorValues(node, 'leaf_weights'), 'leaf_weights');
  const members = tensorValues(node, 'membership_values')?.values ?? [];
  const nTargets = attrInt(node, 'n_targets', 1);
  const aggregate = AGGREGATE_CODES[attrInt(node, 'aggregate_function', 1)];
  if (!aggregate) throw new ForestError(`${name}: aggregate_function ${attrInt(node, 'aggregate_function', 1)} is not a code 0..3 (AVERAGE, SUM, MIN, MAX)`);
  const transform = TRANSFORM_CODES[attrInt(node, 'post_transform', 0)];
  if (!transform) throw new ForestError(`${name}: post_transform ${attrInt(node, 'post_transform', 0)} is not a code 0..4 (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT as onnxruntime reads them)`);
  const N = featureids.length;
  const L = leafTargets.length;
  for (const [attr, arr] of [['nodes_splits', splits.values], ['nodes_modes', modeCodes], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (arr.length !== N) throw new ForestError(`${name}: ${attr} has ${arr.length} entries, nodes_featureids ${N}`);
  }
  if (leafWeights.values.length !== L) throw new ForestError(`${name}: leaf_weights has ${leafWeights.values.length} entries, leaf_targetids ${L}`);
  // membership sets, one per MEMBER node in node order, separated by NaN
  const sets: Set<number>[] = [];
  let current = new Set<number>();
  for (const v of members) {
    if (Number.isNaN(v)) {
      sets.push(current);
      current = new Set();
    } else current.add(v);
  }
  if (current.size) sets.push(current);
  const memberSet = new Map<number, Set<number> | undefined>();
  for (let i = 0, m = 0; i < N; i++) if (MODE_CODES[modeCodes[i]] === 'MEMBER') memberSet.set(i, sets[m++]);
  let width = 0;
  const trees = roots.map((rootId, t) => {
    // gather this tree's nodes and leaves by walking from its root (a local index per node and per leaf)
    const order: { kind: 'node' | 'leaf'; id: number }[] = [];
    const localNode = new Map<number, number>();
    const localLeaf = new Map<number, number>();
    const visit = (kind: 'node' | 'leaf', id: number, attr: string): number => {
      const map = kind === 'node' ? localNode : localLeaf;
      if (id < 0 || id >= (kind === 'node' ? N : L)) throw new ForestError(`${name}: tree ${t} points to ${kind} ${id}, outside 0..${(kind === 'node' ? N : L) - 1} (${attr})`);
      if (map.has(id)) throw new ForestError(`${name}: tree ${t} reaches ${kind} ${id} twice (a cycle, or a child shared by two branches): ${attr}`);
      map.set(id, order.length);
      order.push({ kind, id });
      if (kind === 'node') {
        visit(trueLeaf[id] ? 'leaf' : 'node', trueIds[id], 'nodes_truenodeids');
        visit(falseLeaf[id] ? 'leaf' : 'node', falseIds[id], 'nodes_falsenodeids');
      }
      return map.get(id)!;
    };
    visit('node', rootId, 'tree_roots');
    return buildTree(name, t, order.map((o) => (o.kind === 'node' ? o.id : -1 - o.id)), 0, order.length, (tr) => {
      order.forEach((o, k) => {
        if (o.kind === 'leaf') {
          const target = leafTargets[o.id];
          if (target < 0 || target >= nTargets) throw new ForestError(`${name}: leaf ${o.id} feeds target ${target}, outside 0..${nTargets - 1} (leaf_targetids)`);
          tr.leafTargets[k] = Int32Array.of(target);
          tr.leafWeights[k] = Float64Array.of(leafWeights.double ? leafWeights.values[o.id] : Math.fround(leafWeights.values[o.id]));
          return;
        }
        const i = o.id;
        const mode = MODE_CODES[modeCodes[i]];
        if (!mode) throw new ForestError(`${name}: node ${i} has mode code ${modeCodes[i]} (nodes_modes), not one of 0..6 (BRANCH_LEQ, LT, GTE, GT, EQ, NEQ, MEMBER)`);
        if (featureids[i] < 0) throw new ForestError(`${name}: node ${i} splits on feature ${featureids[i]} (nodes_featureids)`);
        tr.mode[k] = mode;
        tr.feature[k] = featureids[i];
        width = Math.max(width, featureids[i] + 1);
        tr.threshold[k] = splits.double ? splits.values[i] : Math.fround(splits.values[i]);
        tr.missingYes[k] = missing[i] ? 1 : 0;
        if (mode === 'MEMBER') {
          const set = memberSet.get(i);
          if (!set) throw new ForestError(`${name}: node ${i} is BRANCH_MEMBER but membership_values has no set left for it`);
          tr.members[k] = set;
          const values = [...set];
          tr.memberTruncates[k] = set.size >= 31 || values.some((v) => v < 0 || v > 30) ? 1 : 0;
        }
        tr.yes[k] = trueLeaf[i] ? localLeaf.get(trueIds[i])! : localNode.get(trueIds[i])!;
        tr.no[k] = falseLeaf[i] ? localLeaf.get(falseIds[i])! : localNode.get(falseIds[i])!;
      });
      if (hitrates) tr.cover = Float64Array.from(order.map((o) => (o.kind === 'node' ? hitrates.values[o.id] : NaN)));
    });
  });
  return { node: name, opType: 'TreeEnsemble', trees, nTargets, aggregate, base: new Float64Array(nTargets), postTransform: transform, binary: false, width, double: splits.double || leafWeights.double };
}

/** The forest of a tree-ensemble node. */
export function readForest(node: NodeProto): Forest {
  const name = `${node.opType} '${node.name || node.output?.[0] || '?'}'`;
  if (!TREE_ENSEMBLE_OPS.includes(node.opType ?? '')) throw new ForestError(`${name} is not a tree ensemble (${TREE_ENSEMBLE_OPS.join(', ')})`);
  return node.opType === 'TreeEnsemble' ? readV5(node, name) : readLegacy(node, name);
}
