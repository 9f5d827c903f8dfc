/**
 * Exact Shapley values of a tree ensemble's raw scores, read from the trees
 * (Lundberg et al. 2020, "From local explanations to global understanding
 * with explainable AI for trees"), for ensembles whose trees add up (SUM or
 * AVERAGE): each tree's values add, so a tree at a time.
 *
 * Interventional: the game is v(S) = f(x on S, r elsewhere) for a background
 * row r, averaged over the rows. Walking a tree with x and r together, a
 * split where they part puts its feature in S (x's way) or out of it (r's
 * way), and a feature met again must go the way it went before; a leaf
 * reached with features A from x and B from r is worth its value exactly
 * for the coalitions holding all of A and none of B, whose Shapley values
 * are closed-form: each i in A gets v (|A|-1)! |B|! / (|A|+|B|)!, each i in
 * B loses v |A|! (|B|-1)! / (|A|+|B|)!. O(leaves x depth) per tree and row.
 *
 * Path-dependent: v(S) = E[f(x) | x_S], where a split on a feature outside
 * S sends the row down both children weighted by their covers (the share of
 * the training data that reached each), by the polynomial-time algorithm of
 * Lundberg, Erion & Lee 2018 (Algorithm 2: the path's weights are extended
 * at each split and unwound to take a feature out). Needs covers.
 */
import { goesYes, type Forest, type Tree } from './forest';

/** Per target, one value per feature. */
export type TargetValues = Float64Array[];

const factorials = (n: number) => {
  const f = [1];
  for (let i = 1; i <= n; i++) f.push(f[i - 1] * i);
  return f;
};

function checkAdditive(forest: Forest): void {
  if (forest.aggregate === 'MIN' || forest.aggregate === 'MAX') {
    throw new Error(`${forest.node}: aggregate_function ${forest.aggregate} does not add the trees up, so TreeSHAP's per-tree values do not apply; explain it with kernel-shap`);
  }
}

/** The scale of every tree's leaves in the raw score: 1 for SUM, 1/trees for AVERAGE. */
const treeScale = (forest: Forest) => (forest.aggregate === 'AVERAGE' ? 1 / forest.trees.length : 1);

/** Interventional values of one tree against one background row, added into `phi` scaled by `scale`. */
function interventionalTree(tree: Tree, x: ArrayLike<number>, r: ArrayLike<number>, phi: TargetValues, scale: number, fact: number[]): void {
  // features taken from x (A) and from r (B) on the current path, as a stack with membership marks
  const side = new Int8Array(phi[0].length); // 0 unset, 1 in A, -1 in B
  const a: number[] = [];
  const b: number[] = [];
  const walk = (n: number): void => {
    if (tree.yes[n] < 0) {
      const targets = tree.leafTargets[n];
      const weights = tree.leafWeights[n];
      const na = a.length;
      const nb = b.length;
      const total = fact[na + nb];
      const plus = na ? (fact[na - 1] * fact[nb]) / total : 0;
      const minus = nb ? (fact[na] * fact[nb - 1]) / total : 0;
      for (let k = 0; k < targets.length; k++) {
        const v = weights[k] * scale;
        const p = phi[targets[k]];
        for (const i of a) p[i] += v * plus;
        for (const i of b) p[i] -= v * minus;
      }
      return;
    }
    const f = tree.feature[n];
    const xs = goesYes(tree, n, x[f]);
    const rs = goesYes(tree, n, r[f]);
    const child = (yes: boolean) => (yes ? tree.yes[n] : tree.no[n]);
    if (xs === rs) return walk(child(xs));
    if (side[f] === 1) return walk(child(xs));
    if (side[f] === -1) return walk(child(rs));
    side[f] = 1;
    a.push(f);
    walk(child(xs));
    a.pop();
    side[f] = -1;
    b.push(f);
    walk(child(rs));
    b.pop();
    side[f] = 0;
  };
  walk(tree.root);
}

/**
 * Interventional TreeSHAP of the raw scores for row x against background
 * rows: per target, one value per feature (of `width`), averaged over the rows.
 */
export function interventionalTreeShap(forest: Forest, x: ArrayLike<number>, background: ArrayLike<number>[], width: number): TargetValues {
  checkAdditive(forest);
  if (!background.length) throw new Error('interventional TreeSHAP needs at least one background row');
  const phi = Array.from({ length: forest.nTargets }, () => new Float64Array(width));
  const depth = Math.max(...forest.trees.map(treeDepth));
  const fact = factorials(depth + 1);
  const scale = treeScale(forest) / background.length;
  for (const r of background) for (const tree of forest.trees) interventionalTree(tree, x, r, phi, scale, fact);
  return phi;
}

/** The longest root-to-leaf path, in splits (a cycle was refused by the reader). */
export function treeDepth(tree: Tree): number {
  const down = (n: number): number => (tree.yes[n] < 0 ? 0 : 1 + Math.max(down(tree.yes[n]), down(tree.no[n])));
  return down(tree.root);
}

// ---- path-dependent

interface PathElement {
  d: number;
  z: number;
  o: number;
  w: number;
}

function extend(m: PathElement[], pz: number, po: number, pi: number): PathElement[] {
  const l = m.length;
  const out = m.map((e) => ({ ...e }));
  out.push({ d: pi, z: pz, o: po, w: l === 0 ? 1 : 0 });
  for (let i = l - 1; i >= 0; i--) {
    out[i + 1].w += (po * out[i].w * (i + 1)) / (l + 1);
    out[i].w = (pz * out[i].w * (l - i)) / (l + 1);
  }
  return out;
}

function unwind(m: PathElement[], i: number): PathElement[] {
  const l = m.length - 1;
  const out = m.map((e) => ({ ...e }));
  let n = out[l].w;
  const { z, o } = out[i];
  for (let j = l - 1; j >= 0; j--) {
    if (o !== 0) {
      const t = out[j].w;
      out[j].w = (n * (l + 1)) / ((j + 1) * o);
      n = t - (out[j].w * z * (l - j)) / (l + 1);
    } else {
      out[j].w = (out[j].w * (l + 1)) / (z * (l - j));
    }
  }
  for (let j = i; j < l; j++) {
    out[j].d = out[j + 1].d;
    out[j].z = out[j + 1].z;
    out[j].o = out[j + 1].o;
  }
  out.pop();
  return out;
}

function pathDependentTree(tree: Tree, cover: Float64Array, x: ArrayLike<number>, phi: TargetValues, scale: number): void {
  const recurse = (j: number, path: PathElement[], pz: number, po: number, pi: number): void => {
    const m = extend(path, pz, po, pi);
    if (tree.yes[j] < 0) {
      const targets = tree.leafTargets[j];
      const weights = tree.leafWeights[j];
      for (let i = 1; i < m.length; i++) {
        const w = unwind(m, i).reduce((s, e) => s + e.w, 0);
        const f = w * (m[i].o - m[i].z) * scale;
        for (let k = 0; k < targets.length; k++) phi[targets[k]][m[i].d] += f * weights[k];
      }
      return;
    }
    const d = tree.feature[j];
    const yes = goesYes(tree, j, x[d]);
    const [hot, cold] = yes ? [tree.yes[j], tree.no[j]] : [tree.no[j], tree.yes[j]];
    let iz = 1;
    let io = 1;
    let rest = m;
    const k = m.findIndex((e, idx) => idx > 0 && e.d === d);
    if (k > 0) {
      iz = m[k].z;
      io = m[k].o;
      rest = unwind(m, k);
    }
    // x's own way is walked even where no training data went (its value still counts when d is in S)
    const rj = cover[j];
    const hz = rj > 0 ? (iz * cover[hot]) / rj : 0;
    // (a path with both fractions zero adds nothing, and could not be unwound)
    if (hz > 0 || io > 0) recurse(hot, rest, hz, io, d);
    if (cover[cold] > 0) recurse(cold, rest, (iz * cover[cold]) / rj, 0, d);
  };
  recurse(tree.root, [], 1, 1, -1);
}

/**
 * Path-dependent TreeSHAP of the raw scores for row x, with per-tree node
 * covers (a cover per node, children's adding up to their parent's).
 */
export function pathDependentTreeShap(forest: Forest, x: ArrayLike<number>, covers: Float64Array[], width: number): TargetValues {
  checkAdditive(forest);
  const phi = Array.from({ length: forest.nTargets }, () => new Float64Array(width));
  const scale = treeScale(forest);
  forest.trees.forEach((tree, t) => pathDependentTree(tree, covers[t], x, phi, scale));
  return phi;
}

/** E[f] under the covers: each tree's leaves weighted by their share of the root's cover (path-dependent's baseline), per target. */
export function expectedRawScores(forest: Forest, covers: Float64Array[]): Float64Array {
  const out = Float64Array.from(forest.base);
  const scale = treeScale(forest);
  forest.trees.forEach((tree, t) => {
    const c = covers[t];
    for (let n = 0; n < tree.yes.length; n++) {
      if (tree.yes[n] >= 0 || !(c[n] > 0)) continue;
      for (let k = 0; k < tree.leafTargets[n].length; k++) out[tree.leafTargets[n][k]] += (scale * tree.leafWeights[n][k] * c[n]) / c[tree.root];
    }
  });
  return out;
}

/** Node covers counted by passing rows down each tree (for path-dependent TreeSHAP without usable hit rates). */
export function countedCovers(forest: Forest, rows: ArrayLike<number>[]): Float64Array[] {
  return forest.trees.map((tree) => {
    const c = new Float64Array(tree.yes.length);
    for (const r of rows) {
      let n = tree.root;
      c[n]++;
      while (tree.yes[n] >= 0) {
        n = goesYes(tree, n, r[tree.feature[n]]) ? tree.yes[n] : tree.no[n];
        c[n]++;
      }
    }
    return c;
  });
}

/** Hit rates usable as covers: positive at every root, each branch's children adding up to it. */
export function hitrateCovers(forest: Forest): Float64Array[] | undefined {
  const out: Float64Array[] = [];
  for (const tree of forest.trees) {
    const c = tree.cover;
    if (!c || !(c[tree.root] > 0)) return undefined;
    for (let n = 0; n < c.length; n++) {
      if (!(c[n] >= 0)) return undefined;
      if (tree.yes[n] >= 0 && Math.abs(c[tree.yes[n]] + c[tree.no[n]] - c[n]) > 1e-6 * c[n]) return undefined;
    }
    out.push(c);
  }
  return out;
}

