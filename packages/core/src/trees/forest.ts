/**
 * A tree ensemble as typed arrays, whichever ONNX-ML op it was read from
 * (readForest.ts), and how one input row walks it. Node indices are
 * positions in the tree's arrays; a leaf has no children (yes = -1).
 */

/** Split comparisons: x <= t, x < t, x >= t, x > t, x == t, x != t, x in a set. */
export type SplitMode = 'LEQ' | 'LT' | 'GTE' | 'GT' | 'EQ' | 'NEQ' | 'MEMBER';

export interface Tree {
  /** Index of the root node. */
  root: number;
  /** Per node: the feature split on (branches). */
  feature: Int32Array;
  threshold: Float64Array;
  mode: SplitMode[];
  /** Children taken when the comparison holds (yes) or not (no); -1 for a leaf. */
  yes: Int32Array;
  no: Int32Array;
  /** A NaN input takes the yes child (else it is compared, and fails every mode but NEQ). */
  missingYes: Uint8Array;
  /** BRANCH_MEMBER sets. */
  members: (Set<number> | undefined)[];
  /**
   * A set compared on the input's integer part, as onnxruntime (1.30) does
   * for sets of 31 or more, or with a member outside 0..30 ("BIGSET");
   * smaller sets compare exactly (an unrolled chain of ==).
   */
  memberTruncates: Uint8Array;
  /** Per leaf node: the targets (classes) it adds to, and by how much. */
  leafTargets: Int32Array[];
  leafWeights: Float64Array[];
  /** The node's share of the data that trained the tree (nodes_hitrates), when the model carries usable ones. */
  cover?: Float64Array;
  /** The ONNX node ids, for error messages. */
  ids: number[];
  /** The ONNX tree id. */
  id: number;
}

export type Aggregate = 'SUM' | 'AVERAGE' | 'MIN' | 'MAX';
export type PostTransform = 'NONE' | 'LOGISTIC' | 'SOFTMAX' | 'SOFTMAX_ZERO' | 'PROBIT';

export interface Forest {
  /** The ONNX node's name and op ('ai.onnx.ml::TreeEnsembleClassifier'). */
  node: string;
  opType: string;
  trees: Tree[];
  /** Raw scores per row: one per target (regressor) or class id (classifier). */
  nTargets: number;
  aggregate: Aggregate;
  /** Added to the aggregated raw scores, per target. */
  base: Float64Array;
  postTransform: PostTransform;
  /**
   * A classifier with two labels whose leaves all feed one class id: its
   * score output has two columns made from the one raw score (see evaluate.ts).
   */
  binary: boolean;
  /** Class labels of a classifier (int64 or strings), in score-column order. */
  classLabels?: (number | string)[];
  /** The features a row must have: the largest feature id split on, plus one. */
  width: number;
  /** Thresholds are float32 (the op's float attributes) or float64 (a double tensor attribute). */
  double: boolean;
}

/** Whether the split at node n sends value v to its yes child. */
export function goesYes(tree: Tree, n: number, v: number): boolean {
  if (Number.isNaN(v)) {
    if (tree.missingYes[n]) return true;
    // NaN compares false with everything: only "not equal" holds
    return tree.mode[n] === 'NEQ';
  }
  const t = tree.threshold[n];
  switch (tree.mode[n]) {
    case 'LEQ':
      return v <= t;
    case 'LT':
      return v < t;
    case 'GTE':
      return v >= t;
    case 'GT':
      return v > t;
    case 'EQ':
      return v === t;
    case 'NEQ':
      return v !== t;
    case 'MEMBER': {
      if (!tree.memberTruncates[n]) return tree.members[n]!.has(v);
      const i = Math.trunc(v);
      return i >= -2147483648 && i <= 2147483647 && tree.members[n]!.has(i);
    }
  }
}

/** The leaf a row reaches. */
export function leafOf(tree: Tree, row: ArrayLike<number>): number {
  let n = tree.root;
  while (tree.yes[n] >= 0) n = goesYes(tree, n, row[tree.feature[n]]) ? tree.yes[n] : tree.no[n];
  return n;
}
