#!/usr/bin/env node
/**
 * Part of `pnpm bench`: the perturbation methods, one row per method and
 * model, against what a user would run instead, on the same machine in the
 * same minutes.
 *
 * Models: the digits CNN and the tabular MLP (models/), and a tree ensemble
 * made here (100 regression trees of depth 5 over the MLP's 30 features,
 * thresholds drawn around the sample's own values, seeded), which no
 * gradient method explains.
 *
 * Contestants, alternating round by round:
 *  - onnx-explain: each method through `explainWith`, default options but
 *    those below, warm (the first call, which prepares the model, is not
 *    counted), CPU EP;
 *  - Captum 0.8 with the same settings on the PyTorch model rebuilt from the
 *    same weights (bench_models.py serve), at its best perturbations_per_eval
 *    of 1, 16 and 64, chosen per row in this run; LIME with
 *    SkLearnLinearRegression (ours: weighted least squares), KernelSHAP
 *    Captum's own. The tree ensemble has no PyTorch model: "not timed".
 * Settings: target class 0; occlusion 2x2 windows, stride 1 (digits) and
 * one-element windows (tabular, trees); feature ablation per element;
 * feature permutation over a batch of 8 rows (the sample scaled by 0.8 ..
 * 1.15); Shapley sampling 25 orders, KernelSHAP 2M + 2048 coalitions (as
 * ours defaults), LIME 1000 samples, the digits over a 4x4 grid of cells.
 *
 * Reported per row: time per explanation (min / median of ROUNDS), model
 * evaluations (rows run) per explanation, rows per session run, and for the
 * deterministic methods the relative L2 difference from Captum's result.
 *
 * Writes bench/results/perturbation-bench.md and .json.
 *   CAPTUM_SRC=/path/to/captum-0.8 node bench/perturbation-bench.js
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { python, pythonWorker, median, min, fmt, ratio, treeEnsemble, relL2 } = require('./common');

const root = path.resolve(__dirname, '..');
const ROUNDS = 5;
const PPE = [1, 16, 64];

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Eight rows: the sample scaled by 0.8, 0.85, ..., 1.15 (feature permutation shuffles among them). */
function batchOf(t) {
  const per = t.data.length;
  const data = new Float32Array(8 * per);
  for (let r = 0; r < 8; r++) for (let i = 0; i < per; i++) data[r * per + i] = t.data[i] * (0.8 + 0.05 * r);
  return { type: 'float32', dims: [8, ...t.dims.slice(1)], data };
}

async function main() {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const runtime = new node.OrtNodeRuntime({ executionProviders: ['cpu'] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'perturbation-bench-'));
  const load = async (file) => (await node.loadModelFile(path.join(root, file))).model;
  const sample = (f) => {
    const a = core.parseNpy(new Uint8Array(fs.readFileSync(path.join(root, 'models/samples', f))), f);
    return { type: a.dtype, dims: a.shape, data: a.data };
  };
  const patient = sample('patient_0.npy');
  const models = [
    { key: 'digits_cnn', name: 'digits CNN', model: await load('models/digits_cnn.onnx'), input: 'image', x: sample('digit_3.npy'), window: [2, 2], captumWindow: [1, 2, 2], grid: 4 },
    { key: 'tabular_mlp', name: 'tabular MLP', model: await load('models/tabular_mlp.onnx'), input: 'features', x: patient, window: [1], captumWindow: [1] },
    { key: null, name: 'tree ensemble (100 trees, depth 5)', model: treeEnsemble(core, patient.data), input: 'features', x: patient, window: [1], target: 'sum' },
  ];
  const methods = ['occlusion', 'feature-ablation', 'feature-permutation', 'shapley-sampling', 'kernel-shap', 'lime'];
  const deterministic = new Set(['occlusion', 'feature-ablation']);

  const captumOk = !!process.env.CAPTUM_SRC && fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, onnx, sklearn'], { stdio: 'ignore' }).status === 0;
  const py = captumOk ? pythonWorker() : undefined;
  const pyInfo = py ? await py.ready : undefined;
  const rows = [];
  for (const m of models) {
    const ex = new core.Explainer(runtime, m.model);
    const batchFile = path.join(tmp, `${m.name.replace(/\W+/g, '_')}_batch.npy`);
    const batch = batchOf(m.x);
    fs.writeFileSync(batchFile, core.encodeNpy({ data: batch.data, shape: batch.dims, dtype: 'float32' }));
    for (const method of methods) {
      const x = { [m.input]: method === 'feature-permutation' ? batch : m.x };
      const M = m.grid ? m.grid * m.grid : m.x.data.length;
      const samples = { 'shapley-sampling': 25, 'kernel-shap': 2 * M + 2048, lime: 1000 }[method];
      const opts = { method, target: m.target ?? 0, window: m.window, strides: 1, samples, featureMask: m.grid && !['occlusion', 'feature-ablation'].includes(method) ? `grid:${m.grid}x${m.grid}` : undefined };
      const req = {
        op: 'perturb',
        key: m.key,
        method,
        window: m.captumWindow,
        samples,
        grid: opts.featureMask ? m.grid : undefined,
        batch: method === 'feature-permutation' ? batchFile : undefined,
      };
      const row = { model: m.name, method, ours: [], captum: [] };
      // warm-ups; Captum's perturbations_per_eval chosen by a timed try of each
      const first = now();
      let r = await core.explainWith(ex, x, opts);
      row.firstMs = now() - first;
      if (py && m.key) {
        const tries = {};
        for (const ppe of PPE) {
          await py.ask({ ...req, ppe });
          tries[ppe] = (await py.ask({ ...req, ppe })).ms;
        }
        row.captumPpeTried = tries;
        row.captumPpe = Number(Object.entries(tries).sort((a, b) => a[1] - b[1])[0][0]);
      }
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = now();
        r = await core.explainWith(ex, x, opts);
        row.ours.push(now() - t0);
        if (row.captumPpe) {
          const c = await py.ask({ ...req, ppe: row.captumPpe, save: round === ROUNDS - 1 && deterministic.has(method) ? path.join(tmp, 'captum.npy') : undefined });
          if (c.error) throw new Error(c.error);
          row.captum.push(c.ms);
          row.captumRows = c.rows;
        }
      }
      row.evaluations = r.evaluations;
      row.rowsPerRun = r.batchSize;
      if (row.captumPpe && deterministic.has(method)) {
        const a = core.parseNpy(new Uint8Array(fs.readFileSync(path.join(tmp, 'captum.npy'))), 'captum.npy');
        row.relL2VsCaptum = relL2(r.attributions[m.input].data, a.data);
      }
      rows.push(row);
      process.stderr.write(`${m.name} ${method}: ours ${fmt(median(row.ours))}${row.captum.length ? `, Captum ${fmt(median(row.captum))}` : ''}\n`);
    }
    await ex.release();
  }
  py?.stop();
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const machine = `${os.cpus()[0].model.replace(/ \d+-Core.*/, '')}, ${os.cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  const table = rows.map((r) => {
    const captum = r.captum.length ? `${fmt(min(r.captum))} / ${fmt(median(r.captum))}` : 'not timed';
    return `| ${r.model} | ${r.method} | ${fmt(min(r.ours))} / ${fmt(median(r.ours))} | ${r.evaluations} | ${r.rowsPerRun} | ${captum} | ${r.captumRows ?? '-'} | ${r.captumPpe ?? '-'} | ${r.captum.length ? ratio(median(r.ours), median(r.captum)) : '-'} | ${r.relL2VsCaptum !== undefined ? r.relL2VsCaptum.toExponential(1) : '-'} |`;
  });
  const md = [
    '# The perturbation methods',
    '',
    `${machine}, Node ${process.version}, CPU EP${pyInfo ? `; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads), Captum ${pyInfo.captum}` : '; Captum not timed (set CAPTUM_SRC)'}; commit ${commit}; ${date}.`,
    `Warm runs alternate (onnx-explain, Captum), ${ROUNDS} each; min / median. Settings in bench/perturbation-bench.js. "model runs" counts the rows each side ran through its model for one explanation (Captum's, counted by wrapping its forward).`,
    '',
    '| model | method | onnx-explain (min / median) | model runs | rows per session run | Captum (min / median) | Captum model runs | Captum perturbations_per_eval | vs Captum (medians) | rel. L2 vs Captum |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...table,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/perturbation-bench.md'), md);
  fs.writeFileSync(path.join(root, 'bench/results/perturbation-bench.json'), JSON.stringify({ machine, node: process.version, python: pyInfo, commit, date, rounds: ROUNDS, rows }, null, 1));
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
