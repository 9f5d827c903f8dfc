#!/usr/bin/env node
/**
 * Part of `pnpm bench`: the methods that change backward rules on
 * torchvision's ResNet-18 (bench/models, exported by bench_models.py), one
 * 224x224 image, target class 0: onnx-explain's Guided Backprop,
 * Deconvolution, Guided Grad-CAM (at the last block), DeepLift (zero
 * baseline), DeepLiftShap (5 baseline rows) and LRP (epsilon) against its own IG(50) and
 * against Captum 0.8's same method on the PyTorch model, alternating, warm,
 * ROUNDS each. Where Captum refuses the model (its DeepLift hooks cannot
 * handle a module used twice, as torchvision's blocks use their ReLU), the
 * row says not timed, with Captum's reason.
 *
 * Writes bench/results/modified-bench.md and .json.
 *   CAPTUM_SRC=/path/to/captum-0.8 node bench/modified-bench.js
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { python, pythonWorker, median, min, fmt, ratio } = require('./common');

const root = path.resolve(__dirname, '..');
const ROUNDS = 3;
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function main() {
  const file = path.join(root, 'bench/models/tv_resnet18.onnx');
  if (!fs.existsSync(file)) {
    process.stderr.write('bench/models/tv_resnet18.onnx is missing: run bench_models.py export (pnpm bench does, through ig-bench.js)\n');
    return;
  }
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const runtime = new node.OrtNodeRuntime({ executionProviders: ['cpu'] });
  const { model } = await node.loadModelFile(file);
  const a = core.parseNpy(new Uint8Array(fs.readFileSync(path.join(root, 'bench/models/image224.npy'))), 'image224.npy');
  const ex = new core.Explainer(runtime, model);
  const x = { [model.graph.input[0].name]: { type: a.dtype, dims: a.shape, data: a.data } };
  const captumOk = !!process.env.CAPTUM_SRC && fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  const py = captumOk ? pythonWorker() : undefined;
  const pyInfo = py ? await py.ready : undefined;
  const methods = ['ig', 'guided-backprop', 'deconvolution', 'guided-grad-cam', 'deeplift', 'deeplift-shap', 'lrp'];
  // Guided Grad-CAM at the last block's output (Captum: model.layer4); DeepLiftShap over the image scaled by 0, 0.1, ..., 0.4
  const layer = model.graph.node.find((n) => n.opType === 'GlobalAveragePool').input[0];
  const img = x[model.graph.input[0].name];
  const per = img.data.length;
  const dist = new Float32Array(5 * per);
  for (let k = 0; k < 5; k++) for (let i = 0; i < per; i++) dist[k * per + i] = Math.fround(img.data[i] * 0.1 * k);
  const extra = { 'guided-grad-cam': { layer }, 'deeplift-shap': { baselines: { type: 'float32', dims: [5, ...img.dims.slice(1)], data: dist } } };
  const rows = {};
  for (const m of methods) {
    const opts = { method: m, target: 0, steps: 50, ...extra[m] };
    const t0 = now();
    const r = await core.explainWith(ex, x, opts);
    rows[m] = { first: now() - t0, ours: [], captum: [], delta: r.delta?.[0], captumError: undefined };
    if (py && m !== 'ig') {
      const c = await py.ask({ op: 'modified', key: 'tv_resnet18', method: m });
      if (c.error) rows[m].captumError = c.error;
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const m of methods) {
      const t0 = now();
      await core.explainWith(ex, x, { method: m, target: 0, steps: 50, ...extra[m] });
      rows[m].ours.push(now() - t0);
      if (py && m !== 'ig' && !rows[m].captumError) {
        const c = await py.ask({ op: 'modified', key: 'tv_resnet18', method: m });
        if (c.error) rows[m].captumError = c.error;
        else rows[m].captum.push(c.ms);
      }
    }
    process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
  }
  py?.stop();
  await ex.release();
  const ig = median(rows.ig.ours);
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const machine = `${os.cpus()[0].model.replace(/ \d+-Core.*/, '')}, ${os.cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    '# Changed backward rules on ResNet-18',
    '',
    `${machine}, Node ${process.version}, CPU EP${pyInfo ? `; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads), Captum ${pyInfo.captum}` : '; Captum not timed (set CAPTUM_SRC)'}; commit ${commit}; ${date}. torchvision ResNet-18 (random seeded weights), one 224x224 image, target class 0; warm runs alternate, ${ROUNDS} each (min / median); the first call (which builds the gradient model) apart.`,
    '',
    '| method | onnx-explain first call | onnx-explain (min / median) | / IG(50) | Captum (min / median) | vs Captum (medians) | completeness delta |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...methods.map((m) => {
      const r = rows[m];
      const captum = m === 'ig' ? 'see ig-bench' : r.captumError ?? (r.captum.length ? `${fmt(min(r.captum))} / ${fmt(median(r.captum))}` : 'not timed');
      return `| ${m} | ${fmt(r.first)} | ${fmt(min(r.ours))} / ${fmt(median(r.ours))} | ${(median(r.ours) / ig).toFixed(3)} | ${captum} | ${r.captum.length ? ratio(median(r.ours), median(r.captum)) : '-'} | ${r.delta !== undefined ? r.delta.toExponential(2) : '-'} |`;
    }),
    '',
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/modified-bench.md'), md);
  fs.writeFileSync(path.join(root, 'bench/results/modified-bench.json'), JSON.stringify({ machine, node: process.version, python: pyInfo, commit, date, rounds: ROUNDS, rows }, null, 1));
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
