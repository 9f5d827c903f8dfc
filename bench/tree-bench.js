#!/usr/bin/env node
/**
 * Part of `pnpm bench`: TreeSHAP against KernelSHAP on the same tree
 * ensembles, the same rows and the same background, in the same minutes.
 *
 * Models: the fixtures of models/make_tree_models.py (sklearn random forest,
 * gradient boosting, xgboost with missing values) and a 100-tree ensemble of
 * depth 5 over 30 features (bench/common.js). Per model, 16 rows are
 * explained in one call against 16 background rows:
 *  - tree-shap, interventional (exact);
 *  - tree-shap, path-dependent (exact for its own game; covers from the
 *    model's hit rates, or counted from the background);
 *  - kernel-shap with the background, its default 2M + 2048 coalitions
 *    (every coalition when they fit, then exact too), through onnxruntime.
 * Warm runs alternate, ROUNDS each; time per explained row (min / median),
 * and KernelSHAP's relative L2 distance from interventional TreeSHAP (the
 * same game: zero up to rounding when KernelSHAP enumerates every coalition).
 *
 * Writes bench/results/tree-bench.md and .json.   node bench/tree-bench.js
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { median, min, fmt, treeEnsemble, relL2 } = require('./common');

const root = path.resolve(__dirname, '..');
const ROUNDS = 5;
const ROWS = 16;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function main() {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const runtime = new node.OrtNodeRuntime({ executionProviders: ['cpu'] });
  const meta = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/trees/trees.json'), 'utf8')).models;
  const tensor = (rows) => ({ type: 'float32', dims: [rows.length, rows[0].length], data: Float32Array.from(rows.flat().map((v) => (v === null ? NaN : v))) });
  // ROWS rows from a few: each scaled a little, so no two are the same
  const spread = (rows) => Array.from({ length: ROWS }, (_, r) => rows[r % rows.length].map((v) => (v === null ? null : v * (0.9 + 0.0125 * r))));
  const models = ['rf_classifier', 'gb_regressor', 'xgb_binary_nan'].map((k) => ({
    name: `${k} (${core.locateForest(core.decodeModel(fs.readFileSync(path.join(root, 'test/fixtures/trees', `${k}.onnx`)))).forest.trees.length} trees)`,
    model: core.decodeModel(fs.readFileSync(path.join(root, 'test/fixtures/trees', `${k}.onnx`))),
    x: tensor(spread(meta[k].rows)),
    background: tensor(meta[k].background.slice(0, 16)),
  }));
  const patient = core.parseNpy(new Uint8Array(fs.readFileSync(path.join(root, 'models/samples/patient_0.npy'))), 'patient_0.npy').data;
  const base = Array.from(patient);
  models.push({
    name: '100 trees of depth 5, 30 features',
    model: treeEnsemble(core, patient),
    x: tensor(spread([base])),
    background: tensor(Array.from({ length: 16 }, (_, r) => base.map((v, i) => v * (0.6 + 0.05 * ((r * 7 + i) % 16))))),
  });
  const rows = [];
  for (const m of models) {
    const ex = new core.Explainer(runtime, m.model);
    const input = m.model.graph.input[0].name;
    const ways = {
      interventional: () => core.treeShap(ex, { [input]: m.x }, { background: m.background, target: 0 }),
      'path-dependent': () => core.treeShap(ex, { [input]: m.x }, { algorithm: 'path-dependent', background: m.background, target: 0 }),
      'kernel-shap': () => core.kernelShap(ex, { [input]: m.x }, { background: m.background, target: 0 }),
    };
    const times = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
    const last = {};
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [k, run] of Object.entries(ways)) {
        const t0 = now();
        last[k] = await run();
        if (round > 0) times[k].push((now() - t0) / ROWS);
      }
    }
    const width = m.x.dims[1];
    const features = (r) => r.featureAttributions.flat();
    // KernelSHAP explains the model's score output: after a post_transform, compare it with TreeSHAP of that output
    const transformed = core.locateForest(m.model).forest.postTransform !== 'NONE';
    const reference = transformed ? await core.treeShap(ex, { [input]: m.x }, { background: m.background, target: 0, treeOutput: 'probability' }) : last.interventional;
    const row = {
      model: m.name,
      features: width,
      times,
      covers: last['path-dependent'].covers,
      kernelExact: last['kernel-shap'].exact[0],
      kernelCoalitions: last['kernel-shap'].coalitions[0],
      kernelEvaluationsPerRow: last['kernel-shap'].evaluations / ROWS,
      kernelVsTree: relL2(features(last['kernel-shap']), features(reference)),
      comparedWith: transformed ? 'probability' : 'raw',
    };
    rows.push(row);
    process.stderr.write(`${m.name}: interventional ${fmt(median(times.interventional))}, kernel-shap ${fmt(median(times['kernel-shap']))} per row\n`);
    await ex.release();
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const machine = `${os.cpus()[0].model.replace(/ \d+-Core.*/, '')}, ${os.cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    '# TreeSHAP against KernelSHAP',
    '',
    `${machine}, Node ${process.version}, CPU EP; commit ${commit}; ${date}. ${ROWS} rows explained per call against 16 background rows, target 0; TreeSHAP timed on the raw scores, KernelSHAP on the model's score output; warm runs alternate, ${ROUNDS} each; time per row, min / median. The last column compares KernelSHAP with TreeSHAP of the same output (the probability, exact by enumeration, where the trees have a post_transform).`,
    '',
    '| model | features | tree-shap interventional | tree-shap path-dependent (covers) | kernel-shap (coalitions, model runs per row) | kernel-shap / interventional (medians) | kernel-shap vs tree-shap, rel. L2 |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.features} | ${fmt(min(r.times.interventional))} / ${fmt(median(r.times.interventional))} | ${fmt(min(r.times['path-dependent']))} / ${fmt(median(r.times['path-dependent']))} (${r.covers}) | ${fmt(min(r.times['kernel-shap']))} / ${fmt(median(r.times['kernel-shap']))} (${r.kernelCoalitions}${r.kernelExact ? ', all' : ', sampled'}; ${r.kernelEvaluationsPerRow}) | ${(median(r.times['kernel-shap']) / median(r.times.interventional)).toFixed(0)}x | ${r.kernelVsTree.toExponential(1)}${r.comparedWith === 'probability' ? ' (probability output)' : ''} |`,
    ),
    '',
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/tree-bench.md'), md);
  fs.writeFileSync(path.join(root, 'bench/results/tree-bench.json'), JSON.stringify({ machine, node: process.version, commit, date, rounds: ROUNDS, rowsPerCall: ROWS, rows }, null, 1));
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
