/**
 * TreeSHAP on forests of every kind the repo ships (test/fixtures/trees, by
 * models/make_tree_models.py: sklearn random forest and gradient boosting,
 * xgboost with missing values and multiclass) and on ai.onnx.ml opset-5
 * TreeEnsemble models built here:
 * - the TypeScript forest reproduces onnxruntime's score output bit for bit
 *   (onnxruntime on one thread: it adds trees in parallel chunks past 50 rows);
 * - interventional values equal exact Shapley values by brute force: every
 *   coalition of features, v(S) the mean over background rows of
 *   onnxruntime's own output for x on S and the row elsewhere, summed in
 *   float64 (raw scores from a copy of the model with post_transform NONE;
 *   probabilities from the model itself);
 * - path-dependent values equal exact Shapley values of E[f(x) | x_S]
 *   computed here by the definition (cover-weighted expectation over the
 *   features outside S);
 * - efficiency holds; bad forests are refused naming the node and attribute.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Explainer,
  decodeModel,
  readForest,
  forestScores,
  treeShap,
  locateForest,
  GraphBuilder,
  DataType,
  makeModel,
  Attr,
  makeTensor,
  cloneModel,
  explainWith,
  type ModelProto,
  type Forest,
  type Tensor,
} from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';
import { stumpRegressor } from '../helpers/trees';

const dir = path.join(repoRoot, 'test/fixtures/trees');
const meta = JSON.parse(fs.readFileSync(path.join(dir, 'trees.json'), 'utf8')).models as Record<string, { rows: (number | null)[][]; background: (number | null)[][] }>;
const NAMES = Object.keys(meta);
const rowsOf = (rows: (number | null)[][]) => rows.map((r) => Float32Array.from(r, (v) => (v === null ? NaN : v)));
const tensorOf = (rows: Float32Array[]): Tensor => ({ type: 'float32', dims: [rows.length, rows[0].length], data: Float32Array.from(rows.flatMap((r) => Array.from(r))) });
const load = (name: string) => decodeModel(fs.readFileSync(path.join(dir, `${name}.onnx`)));
const forestOf = (m: ModelProto) => locateForest(m).forest;

/** The model's score output for rows, by onnxruntime. */
async function ort(model: ModelProto, rows: Float32Array[], output?: string): Promise<number[][]> {
  const s = await runtime.createSession(model);
  try {
    const out = await s.run({ [model.graph!.input![0].name!]: tensorOf(rows) });
    const z = out[output ?? locateForest(model).scores];
    const per = z.data.length / rows.length;
    return rows.map((_, r) => Array.from((z.data as Float32Array).subarray(r * per, (r + 1) * per)));
  } finally {
    await s.release();
  }
}

/** A copy whose scores are the raw ones: post_transform NONE. */
function rawModel(model: ModelProto): ModelProto {
  const m = cloneModel(model);
  const node = locateForest(m).node;
  const attr = node.attribute!.find((a) => a.name === 'post_transform');
  if (attr) {
    if (node.opType === 'TreeEnsemble') attr.i = 0;
    else attr.s = new TextEncoder().encode('NONE');
  }
  return m;
}

/** Exact Shapley values of v over M features, by enumeration (float64). */
function shapley(M: number, v: (mask: number) => number): number[] {
  const fact = [1];
  for (let i = 1; i <= M; i++) fact.push(fact[i - 1] * i);
  const values = Array.from({ length: 1 << M }, (_, mask) => v(mask));
  const phi = new Array(M).fill(0);
  for (let mask = 0; mask < 1 << M; mask++) {
    const size = [...Array(M).keys()].filter((i) => mask & (1 << i)).length;
    for (let i = 0; i < M; i++) if (!(mask & (1 << i))) phi[i] += ((fact[size] * fact[M - size - 1]) / fact[M]) * (values[mask | (1 << i)] - values[mask]);
  }
  return phi;
}

/** Brute-force interventional values of column c of `model`'s scores, through onnxruntime. */
async function bruteInterventional(model: ModelProto, x: Float32Array, background: Float32Array[], c: number): Promise<number[]> {
  const M = x.length;
  const rows: Float32Array[] = [];
  for (let mask = 0; mask < 1 << M; mask++) for (const r of background) rows.push(x.map((xi, i) => (mask & (1 << i) ? xi : r[i])));
  const out = await ort(model, rows);
  return shapley(M, (mask) => {
    let s = 0;
    for (let k = 0; k < background.length; k++) s += out[mask * background.length + k][c];
    return s / background.length;
  });
}

/** E[f(x) | x_S] of target t by the definition: features outside S averaged over both children by cover. */
function conditional(forest: Forest, covers: Float64Array[], x: Float32Array, mask: number, t: number): number {
  let total = forest.base[t];
  forest.trees.forEach((tree, k) => {
    const c = covers[k];
    const expect = (n: number): number => {
      if (tree.yes[n] < 0) {
        const j = Array.from(tree.leafTargets[n]).indexOf(t);
        return j < 0 ? 0 : tree.leafWeights[n][j];
      }
      const f = tree.feature[n];
      if (mask & (1 << f)) {
        const v = x[f];
        const yes = Number.isNaN(v) ? tree.missingYes[n] === 1 : tree.mode[n] === 'LEQ' ? v <= tree.threshold[n] : v < tree.threshold[n];
        return expect(yes ? tree.yes[n] : tree.no[n]);
      }
      return (c[tree.yes[n]] * expect(tree.yes[n]) + c[tree.no[n]] * expect(tree.no[n])) / c[n];
    };
    total += expect(tree.root) * (forest.aggregate === 'AVERAGE' ? 1 / forest.trees.length : 1);
  });
  return total;
}

const scale = (xs: number[]) => Math.max(1e-3, ...xs.map(Math.abs));

describe.each(NAMES)('%s', (name) => {
  const model = load(name);
  const ex = new Explainer(runtime, model);
  afterAll(() => ex.release());
  const rows = rowsOf(meta[name].rows);
  const background = rowsOf(meta[name].background).slice(0, 4);
  const forest = forestOf(model);
  const columns = forest.binary ? 2 : forest.nTargets;

  test('the forest reproduces onnxruntime bit for bit, missing values included', async () => {
    const all = [...rows, ...rowsOf(meta[name].background)];
    const want = await ort(model, all);
    const got = all.map((r) => Array.from(forestScores(forest, r)));
    expect(got).toEqual(want.map((r) => r.map((v) => v)));
  });

  test('interventional raw-score values equal brute-force Shapley values; they sum to F(x) - mean F(background)', async () => {
    const raw = rawModel(model);
    const r = await treeShap(ex, { x: tensorOf(rows) }, { background: tensorOf(background), target: columns - 1 });
    expect(r.algorithm).toBe('interventional');
    for (let e = 0; e < rows.length; e++) {
      const want = await bruteInterventional(raw, rows[e], background, columns - 1);
      const tol = 1e-5 * scale(want.concat(r.outputs[e]));
      r.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(tol));
      expect(Math.abs(r.delta[e])).toBeLessThan(tol);
      // F(x) is onnxruntime's raw score
      expect(r.outputs[e]).toBeCloseTo((await ort(raw, [rows[e]]))[0][columns - 1], 5);
    }
  });

  test('path-dependent values equal the exact Shapley values of E[f(x) | x_S] under the covers', async () => {
    if (forest.binary && columns === 2) {
      // (the raw margin of class 1; class 0 is its negation)
    }
    const r = await treeShap(ex, { x: tensorOf(rows) }, { algorithm: 'path-dependent', target: forest.binary ? 1 : 0, background: tensorOf(background) });
    expect(r.algorithm).toBe('path-dependent');
    expect(r.covers).toBe('hitrates');
    const covers = forest.trees.map((t) => t.cover!);
    for (let e = 0; e < rows.length; e++) {
      const want = shapley(rows[e].length, (mask) => conditional(forest, covers, rows[e], mask, 0));
      const tol = 1e-9 * scale(want.concat(r.outputs[e]));
      r.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(tol));
      // F(x) is the forest's float32 sum, as onnxruntime's: efficiency holds to its rounding
      expect(Math.abs(r.delta[e])).toBeLessThan(1e-6 * scale(want.concat(r.outputs[e])));
    }
  });
});

describe('the probability output', () => {
  test.each(['gb_binary', 'xgb_binary_nan', 'xgb_multiclass'])('%s: exact by enumeration, equal to brute force over onnxruntime\'s probabilities', async (name) => {
    const model = load(name);
    const ex = new Explainer(runtime, model);
    try {
      const rows = rowsOf(meta[name].rows).slice(0, 2);
      const background = rowsOf(meta[name].background).slice(0, 3);
      const r = await treeShap(ex, { x: tensorOf(rows) }, { background: tensorOf(background), treeOutput: 'probability', target: 1 });
      for (let e = 0; e < rows.length; e++) {
        const want = await bruteInterventional(model, rows[e], background, 1);
        r.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(2e-6));
        expect(Math.abs(r.delta[e])).toBeLessThan(1e-9);
      }
      await expect(treeShap(ex, { x: tensorOf(rows) }, { treeOutput: 'probability' })).rejects.toThrow("the probability output's values are exact by enumeration against background rows: use algorithm 'interventional' with a background");
    } finally {
      await ex.release();
    }
  });
});

/** An opset-5 TreeEnsemble: two trees over 3 features, a BRANCH_MEMBER split, a missing-value track, AVERAGE over 2 targets. */
function treeEnsembleV5(): ModelProto {
  const g = new GraphBuilder('v5');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const ft = (v: number[]) => makeTensor('', Float32Array.from(v), [v.length]);
  const y = g.op(
    'TreeEnsemble',
    [x],
    {
      n_targets: 2,
      aggregate_function: 0,
      post_transform: 0,
      tree_roots: [0, 2],
      // tree 0: node 0 x0 <= 0.5 ? node 1 : leaf 0; node 1 x1 in {1, 3} ? leaf 1 : leaf 2
      // tree 1: node 2 x2 < 0 (NaN -> true) ? leaf 3 : node 3; node 3 x0 > 1 ? leaf 4 : leaf 5
      nodes_featureids: [0, 1, 2, 0],
      nodes_splits: ft([0.5, 0, 0, 1]),
      nodes_modes: makeTensor('', Uint8Array.from([0, 6, 1, 3]), [4]),
      nodes_truenodeids: [1, 1, 3, 4],
      nodes_trueleafs: [0, 1, 1, 1],
      nodes_falsenodeids: [0, 2, 3, 5],
      nodes_falseleafs: [1, 1, 0, 1],
      nodes_missing_value_tracks_true: [0, 0, 1, 0],
      membership_values: ft([1, 3, NaN]),
      leaf_targetids: [0, 1, 0, 1, 0, 1],
      leaf_weights: ft([1.5, -2, 0.25, 4, -1, 3]),
    },
    { domain: 'ai.onnx.ml', output: 'y' },
  );
  g.output(y, DataType.FLOAT, ['N', 2]);
  return makeModel(g.build(), { opset: 17, extraOpsets: [{ domain: 'ai.onnx.ml', version: 5 }] });
}

describe('TreeEnsemble (ai.onnx.ml opset 5)', () => {
  const model = treeEnsembleV5();
  const rows = [[0.2, 3, -1], [0.2, 2, NaN], [0.9, 1, 0.5], [1.5, 3, 2], [0.4, 1, NaN]].map((r) => Float32Array.from(r));
  const background = [[0, 1, 1], [1, 3, -1], [0.6, 0, NaN]].map((r) => Float32Array.from(r));

  test('its forest reproduces onnxruntime bit for bit (membership, missing track, average over two targets)', async () => {
    const forest = forestOf(model);
    expect(forest.trees.length).toBe(2);
    expect(rows.map((r) => Array.from(forestScores(forest, r)))).toEqual(await ort(model, rows, 'y'));
  });

  test('interventional values for each target equal brute force through onnxruntime', async () => {
    const ex = new Explainer(runtime, model);
    try {
      for (const target of [0, 1]) {
        const r = await treeShap(ex, { x: tensorOf(rows) }, { background: tensorOf(background), target });
        for (let e = 0; e < rows.length; e++) {
          const want = await bruteInterventional(model, rows[e], background, target);
          r.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
        }
      }
    } finally {
      await ex.release();
    }
  });
});

describe('bad forests are refused, naming the node and the attribute', () => {
  /** A one-split regressor with attributes replaced. */
  const stump = (change: Record<string, unknown>) => stumpRegressor({ name: 'trees', attrs: change }).graph!.node![0];
  test.each([
    ['a cycle', { nodes_truenodeids: [1, 0, 0], nodes_modes: ['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF'], nodes_falsenodeids: [2, 2, 0] }, "TreeEnsembleRegressor 'trees': tree 0 has no root: every node is some branch's child, a cycle (nodes_truenodeids / nodes_falsenodeids)"],
    ['an out-of-range child', { nodes_falsenodeids: [7, 0, 0] }, "TreeEnsembleRegressor 'trees': tree 0 node 0 points to node 7, which tree 0 does not have (nodes_falsenodeids)"],
    ['an unknown mode', { nodes_modes: ['BRANCH_LESS', 'LEAF', 'LEAF'] }, "TreeEnsembleRegressor 'trees': tree 0 node 0 has mode 'BRANCH_LESS' (nodes_modes), not one of BRANCH_LEQ"],
    ['an unknown transform', { post_transform: 'SIGMOID' }, "TreeEnsembleRegressor 'trees': post_transform 'SIGMOID' is not one of NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT"],
    ['a weight on a branch', { target_nodeids: [0, 2] }, "TreeEnsembleRegressor 'trees': target_nodeids names node 0 of tree 0, which is a branch, not a leaf"],
    ['a target out of range', { target_ids: [0, 1] }, "TreeEnsembleRegressor 'trees': target_ids holds 1, outside 0..0"],
    ['lists of different lengths', { nodes_featureids: [0, 0] }, "TreeEnsembleRegressor 'trees': nodes_featureids has 2 entries, nodes_treeids 3"],
  ])('%s', (_, change, message) => {
    expect(() => readForest(stump(change))).toThrow(message);
  });

  test('a shared child (two branches to one node) is refused, never walked twice', () => {
    const node = stump({ nodes_treeids: [0, 0, 0, 0], nodes_nodeids: [0, 1, 2, 3], nodes_featureids: [0, 1, 0, 0], nodes_values: Attr.floats([0.5, 0.2, 0, 0]), nodes_modes: ['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF'], nodes_truenodeids: [1, 2, 0, 0], nodes_falsenodeids: [2, 3, 0, 0], target_treeids: [0, 0], target_nodeids: [2, 3] });
    expect(() => readForest(node)).toThrow("TreeEnsembleRegressor 'trees': tree 0 reaches node 2 twice (a cycle, or a child shared by two branches)");
  });
});

test("a model whose trees read their features through an op that mixes them is refused naming it; per-feature ops before them are followed", async () => {
  const g = new GraphBuilder('scaled');
  const x = g.input('x', DataType.FLOAT, ['N', 2]);
  const scaled = g.op('Scaler', [x], { offset: Attr.floats([1, -1]), scale: Attr.floats([2, 0.5]) }, { domain: 'ai.onnx.ml' });
  const attrs = {
    n_targets: 1, nodes_treeids: [0, 0, 0, 0, 0], nodes_nodeids: [0, 1, 2, 3, 4], nodes_featureids: [0, 1, 0, 0, 0],
    nodes_values: Attr.floats([0.5, 1, 0, 0, 0]), nodes_modes: ['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'LEAF'],
    nodes_truenodeids: [1, 2, 0, 0, 0], nodes_falsenodeids: [4, 3, 0, 0, 0],
    target_treeids: [0, 0, 0], target_nodeids: [2, 3, 4], target_ids: [0, 0, 0], target_weights: Attr.floats([1, 3, -2]),
  };
  g.output(g.op('TreeEnsembleRegressor', [scaled], attrs, { domain: 'ai.onnx.ml', output: 'y' }), DataType.FLOAT, ['N', 1]);
  const model = makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
  const ex = new Explainer(runtime, model);
  try {
    const rows = [Float32Array.of(0.6, 3), Float32Array.of(0.1, 2.5)];
    const background = [Float32Array.of(1, 1), Float32Array.of(0.5, 6)];
    const r = await treeShap(ex, { x: tensorOf(rows) }, { background: tensorOf(background), target: 0 });
    for (let e = 0; e < 2; e++) {
      const want = await bruteInterventional(model, rows[e], background, 0);
      r.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    }
    // a constant first (2 - x) is followed too
    const flipped = cloneModel(model);
    const scaler = flipped.graph!.node![0];
    scaler.opType = 'Sub';
    scaler.domain = '';
    scaler.attribute = [];
    flipped.graph!.initializer!.push(makeTensor('two', Float32Array.of(2), []));
    scaler.input = ['two', 'x'];
    const fx = new Explainer(runtime, flipped);
    const rf = await treeShap(fx, { x: tensorOf(rows) }, { background: tensorOf(background), target: 0 });
    for (let e = 0; e < 2; e++) {
      const want = await bruteInterventional(flipped, rows[e], background, 0);
      rf.featureAttributions[e].forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    }
    await fx.release();
    // the same trees behind a Normalizer (which mixes the features) are refused
    const mixed = cloneModel(model);
    mixed.graph!.node![0].opType = 'Normalizer';
    mixed.graph!.node![0].attribute = [{ name: 'norm', type: 3, s: new TextEncoder().encode('L2') }];
    await expect(explainWith(new Explainer(runtime, mixed), { x: tensorOf(rows) }, { method: 'tree-shap' as never, background: tensorOf(background) })).rejects.toThrow(
      /the trees read their features through ai\.onnx\.ml::Normalizer \('.*'\), which may mix features: tree-shap can only follow ops that act on each feature alone; explain the model with kernel-shap/,
    );
  } finally {
    await ex.release();
  }
});

test("a classifier whose probabilities go through a ZipMap (skl2onnx's default) is explained from its trees, as the same forest without it", async () => {
  const zipped = new Explainer(runtime, load('rf_zipmap'));
  const plain = new Explainer(runtime, load('rf_classifier'));
  try {
    const rows = rowsOf(meta.rf_classifier.rows);
    const background = rowsOf(meta.rf_classifier.background);
    const a = await explainWith(zipped, { x: tensorOf(rows) }, { method: 'auto', background: tensorOf(background) });
    const b = await treeShap(plain, { x: tensorOf(rows) }, { background: tensorOf(background) });
    expect(a.method).toBe('tree-shap');
    expect(a.outputName).toBe('probabilities');
    expect(Array.from(a.attributions.x.data)).toEqual(Array.from(b.attributions.x.data));
    expect(a.classes).toEqual(b.classes);
  } finally {
    await zipped.release();
    await plain.release();
  }
});

describe('every spelling the reader knows, against onnxruntime', () => {
  /** Two trees of depth 2 over 3 features with the given modes, targets and attributes. */
  function regressor(opts: { modes: string[]; aggregate?: string; transform?: string; targets?: number; asTensor?: boolean; classifier?: 'strings' | 'ints' }) {
    const g = new GraphBuilder('spellings');
    const x = g.input('x', DataType.FLOAT, ['N', 3]);
    const targets = opts.targets ?? 1;
    // per tree: node 0 splits on f0 (mode 0), node 1 on f1 (mode 1), leaves 2, 3, 4
    const modes = [0, 1].flatMap((t) => [opts.modes[t * 2], opts.modes[t * 2 + 1], 'LEAF', 'LEAF', 'LEAF']);
    const values = [0.25, 0.5, 0, 0, 0, 1, -0.5, 0, 0, 0];
    const spread = [0, 1].flatMap((t) => [2, 3, 4].flatMap((n) => Array.from({ length: targets }, (_, k) => 0.5 + t - n * 0.7 + k * 0.9)));
    // PROBIT takes a probability: scores kept inside (0, 1)
    const weights = opts.transform === 'PROBIT' ? spread.map((v) => 0.2 + 0.05 * v) : spread;
    const prefix = opts.classifier ? 'class' : 'target';
    const attrs: Record<string, unknown> = {
      nodes_treeids: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
      nodes_nodeids: [0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
      nodes_featureids: [0, 1, 0, 0, 0, 2, 1, 0, 0, 0],
      nodes_modes: modes,
      nodes_truenodeids: [1, 2, 0, 0, 0, 1, 2, 0, 0, 0],
      nodes_falsenodeids: [4, 3, 0, 0, 0, 4, 3, 0, 0, 0],
      nodes_missing_value_tracks_true: [1, 0, 0, 0, 0, 0, 1, 0, 0, 0],
      [`${prefix}_treeids`]: [0, 1].flatMap((t) => [2, 3, 4].flatMap(() => new Array(targets).fill(t))),
      [`${prefix}_nodeids`]: [0, 1].flatMap(() => [2, 3, 4].flatMap((n) => new Array(targets).fill(n))),
      [`${prefix}_ids`]: [0, 1].flatMap(() => [2, 3, 4].flatMap(() => Array.from({ length: targets }, (_, k) => k))),
      post_transform: opts.transform ?? 'NONE',
    };
    if (opts.asTensor) {
      attrs.nodes_values_as_tensor = makeTensor('', Float32Array.from(values), [values.length]);
      attrs[`${prefix}_weights_as_tensor`] = makeTensor('', Float32Array.from(weights), [weights.length]);
    } else {
      attrs.nodes_values = Attr.floats(values);
      attrs[`${prefix}_weights`] = Attr.floats(weights);
    }
    if (opts.classifier === 'strings') attrs.classlabels_strings = Array.from({ length: targets }, (_, k) => `class ${k}`);
    else if (opts.classifier === 'ints') attrs.classlabels_int64s = Array.from({ length: targets }, (_, k) => k);
    else {
      attrs.n_targets = targets;
      attrs.aggregate_function = opts.aggregate ?? 'SUM';
      attrs.base_values = Attr.floats(Array.from({ length: targets }, (_, k) => 0.1 * (k + 1)));
    }
    const outs = opts.classifier ? ['label', 'scores'] : ['scores'];
    g.opN(opts.classifier ? 'TreeEnsembleClassifier' : 'TreeEnsembleRegressor', [x], outs.length, attrs as never, { domain: 'ai.onnx.ml', outputs: outs });
    if (opts.classifier) g.output('label', opts.classifier === 'strings' ? DataType.STRING : DataType.INT64, ['N']);
    g.output('scores', DataType.FLOAT, ['N', targets]);
    return makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
  }
  const rows = [[0.1, 0.5, 2], [0.25, 0.7, -1], [NaN, 0.4, 1], [0.3, NaN, 0.5], [1, 0.5, -0.5], [-2, 3, 1]].map((r) => Float32Array.from(r));
  // (PROBIT of a score outside (0, 1) is NaN on both sides)
  const ulps = (a: number, b: number) => (a === b || (Number.isNaN(a) && Number.isNaN(b)) ? 0 : Math.abs(a - b) / (Math.abs(b) * 2 ** -23));

  test.each([
    ['GT and GTE, SUM', { modes: ['BRANCH_GT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_GTE'] }],
    ['EQ and NEQ, AVERAGE', { modes: ['BRANCH_EQ', 'BRANCH_NEQ', 'BRANCH_NEQ', 'BRANCH_EQ'], aggregate: 'AVERAGE' }],
    ['LT and LEQ, MIN over 2 targets', { modes: ['BRANCH_LT', 'BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LT'], aggregate: 'MIN', targets: 2 }],
    ['MAX over 2 targets, thresholds and weights as tensors', { modes: ['BRANCH_LEQ', 'BRANCH_GT', 'BRANCH_LT', 'BRANCH_GTE'], aggregate: 'MAX', targets: 2, asTensor: true }],
    ['SOFTMAX_ZERO over 3 targets', { modes: ['BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LEQ'], transform: 'SOFTMAX_ZERO', targets: 3 }],
    ['PROBIT over 2 targets', { modes: ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_LEQ', 'BRANCH_LT'], transform: 'PROBIT', targets: 2 }],
    ['LOGISTIC over 2 targets', { modes: ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_LEQ', 'BRANCH_LT'], transform: 'LOGISTIC', targets: 2 }],
    ['a classifier with string labels, SOFTMAX', { modes: ['BRANCH_LEQ', 'BRANCH_GT', 'BRANCH_LEQ', 'BRANCH_GT'], transform: 'SOFTMAX', targets: 3, classifier: 'strings' as const }],
  ])('%s', async (_, opts) => {
    const model = regressor(opts);
    const forest = forestOf(model);
    const want = await ort(model, rows, 'scores');
    rows.forEach((r, i) => {
      const got = Array.from(forestScores(forest, r));
      // raw sums bit for bit; a transform may differ in the last bit (glibc's expf/logf are not correctly rounded)
      got.forEach((v, j) => expect(ulps(v, want[i][j])).toBeLessThanOrEqual(opts.transform && opts.transform !== 'NONE' ? 1 : 0));
    });
    // most scores are numbers (a case of NaNs alone would check nothing)
    expect(want.flat().filter(Number.isFinite).length).toBeGreaterThan(want.flat().length / 2);
    if (opts.classifier === 'strings') expect(forest.classLabels).toEqual(['class 0', 'class 1', 'class 2']);
  });

  test('MIN and MAX do not add up: tree-shap refuses them, naming the aggregate', async () => {
    const ex = new Explainer(runtime, regressor({ modes: ['BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LEQ'], aggregate: 'MAX' }));
    try {
      await expect(treeShap(ex, { x: tensorOf(rows) }, { background: tensorOf(rows), target: 0 })).rejects.toThrow(
        "TreeEnsembleRegressor 'TreeEnsembleRegressor_node': aggregate_function MAX does not add the trees up, so TreeSHAP's per-tree values do not apply; explain it with kernel-shap",
      );
    } finally {
      await ex.release();
    }
  });
});

describe('edge layouts (found in review)', () => {
  /** A one-split ensemble: x0 <= 0.5 ? leaf 1 : leaf 2, with the given op, outputs and attributes. */
  function oneSplit(op: string, attrs: Record<string, unknown>, type = DataType.FLOAT) {
    const g = new GraphBuilder('edge');
    const x = g.input('x', type, ['N', 1]);
    const base = {
      nodes_treeids: [0, 0, 0], nodes_nodeids: [0, 1, 2], nodes_featureids: [0, 0, 0], nodes_values: Attr.floats([0.5, 0, 0]),
      nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF'], nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [2, 0, 0],
    };
    const outs = op === 'TreeEnsembleClassifier' ? ['label', 'scores'] : ['scores'];
    g.opN(op, [x], outs.length, { ...base, ...attrs } as never, { domain: 'ai.onnx.ml', outputs: outs, name: 'trees' });
    if (outs.length === 2) g.output('label', DataType.INT64, ['N']);
    g.output('scores', DataType.FLOAT, ['N', op === 'TreeEnsembleClassifier' ? 2 : (attrs.n_targets as number) ?? 1]);
    return makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
  }
  const binary = (extra: Record<string, unknown>) =>
    oneSplit('TreeEnsembleClassifier', { classlabels_int64s: [0, 1], class_treeids: [0, 0], class_nodeids: [1, 2], class_weights: Attr.floats([0.3, 0.6]), class_ids: [0, 0], ...extra });

  test("a binary classifier under PROBIT: two columns, the first onnxruntime's; the second onnxruntime never writes (it holds whatever was in memory), ours is 0", async () => {
    const model = binary({ post_transform: 'PROBIT' });
    const rows = [Float32Array.of(0.2), Float32Array.of(0.9)];
    const want = await ort(model, rows, 'scores');
    rows.forEach((r, i) => {
      const got = Array.from(forestScores(forestOf(model), r));
      expect(got.length).toBe(2);
      expect(got[0]).toBe(want[i][0]);
      expect(got[1]).toBe(0);
    });
  });

  test('two-label layouts onnxruntime does not sum over trees are refused, naming the layout', () => {
    expect(() => readForest(binary({ class_ids: [1, 1] }).graph!.node![0])).toThrow("TreeEnsembleClassifier 'trees': a two-label classifier whose weights all go to class id 1");
    expect(() => readForest(binary({ base_values: Attr.floats([0.1, 0.2]) }).graph!.node![0])).toThrow("TreeEnsembleClassifier 'trees': a two-label classifier with one class id and 2 base_values");
  });

  test('a regressor target with a base value that some path never reaches is refused (onnxruntime drops the base there)', async () => {
    const model = oneSplit('TreeEnsembleRegressor', { n_targets: 2, base_values: Attr.floats([1, 2]), target_treeids: [0, 0], target_nodeids: [1, 2], target_ids: [0, 1], target_weights: Attr.floats([3, 5]) });
    const ex = new Explainer(runtime, model);
    try {
      await expect(treeShap(ex, { x: tensorOf([Float32Array.of(0)]) }, { background: tensorOf([Float32Array.of(1)]), target: 1 })).rejects.toThrow(
        "TreeEnsembleRegressor 'trees': target 0 has a base value but no tree reaches it on every path",
      );
    } finally {
      await ex.release();
    }
  });

  test('int64 features are read as numbers', async () => {
    const model = oneSplit('TreeEnsembleRegressor', { n_targets: 1, target_treeids: [0, 0], target_nodeids: [1, 2], target_ids: [0, 0], target_weights: Attr.floats([3, 5]) }, DataType.INT64);
    const ex = new Explainer(runtime, model);
    try {
      const r = await treeShap(ex, { x: { type: 'int64', dims: [1, 1], data: BigInt64Array.of(0n) } }, { background: { type: 'int64', dims: [1, 1], data: BigInt64Array.of(1n) }, target: 0 });
      // x0 = 0 takes leaf 1 (3), the background's 1 takes leaf 2 (5)
      expect(r.featureAttributions).toEqual([[-2]]);
    } finally {
      await ex.release();
    }
  });
});
