#!/usr/bin/env node
/**
 * `pnpm bench`: what Integrated Gradients costs, against the forward pass and
 * against PyTorch eager, on the CPU EP (and CUDA when it works here).
 *
 * Models: the shipped MLP and CNN, ResNet-18 and MobileNetV2 at 224x224, a
 * 2-layer transformer encoder over 128 tokens with layer IG at the embedding
 * output. The large ones and the PyTorch timings come from
 * bench/bench_models.py (run first when Python with torch is available; the
 * PyTorch column is left out, saying so, otherwise).
 *
 * Every configuration runs in a fresh process so that its peak RSS is its own.
 * Writes bench/results/ig-bench.md and .json.
 *   node bench/ig-bench.js [--quick]
 */
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const benchModels = path.join(__dirname, 'models');

const MODELS = [
  { name: 'tabular MLP', key: 'tabular_mlp', file: 'models/tabular_mlp.onnx', input: 'models/samples/patient_0.npy', fd: true },
  { name: 'digits CNN', key: 'digits_cnn', file: 'models/digits_cnn.onnx', input: 'models/samples/digit_3.npy' },
  { name: 'text classifier (layer IG)', key: 'text_classifier', file: 'models/text_classifier.onnx', input: 'models/samples/review_positive.npy', at: '/embedding/Gather_output_0', fd: true },
  { name: 'ResNet-18 224x224', key: 'resnet18', file: 'bench/models/resnet18.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'MobileNetV2 224x224', key: 'mobilenetv2', file: 'bench/models/mobilenetv2.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'encoder, 128 tokens (layer IG)', key: 'encoder128', file: 'bench/models/encoder128.onnx', input: 'bench/models/tokens128.npy', at: 'embedding', large: true },
];

async function child(spec) {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const { model } = await node.loadModelFile(path.join(root, spec.file));
  const runtime = new node.OrtNodeRuntime({ executionProviders: spec.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] });
  const arr = node.parseNpy(fs.readFileSync(path.join(root, spec.input)));
  const name = core.summarizeModel(model).inputs[0].name;
  const x = { [name]: { type: arr.dtype, dims: arr.shape, data: arr.data } };
  const at = spec.at === 'embedding' ? core.embeddingOutputs(model)[0] : spec.at;
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = async (fn, n) => {
    const ts = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await fn();
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return median(ts);
  };
  const out = { ...spec };
  if (spec.forward) {
    const s = await runtime.createSession(model);
    const tile = (t, n) => core.tileBatch(t, n);
    await s.run(x);
    out.forwardB1 = await time(() => s.run(x), spec.large ? 5 : 50);
    const xb = Object.fromEntries(Object.entries(x).map(([k, v]) => [k, tile(v, 50)]));
    await s.run(xb);
    out.forwardB50 = await time(() => s.run(xb), spec.large ? 3 : 20);
    await s.release();
  }
  const ex = new core.Explainer(runtime, model);
  const opts = { steps: spec.steps, internalBatchSize: spec.batch, at, gradients: spec.gradients ?? 'auto', target: 0 };
  await core.integratedGradients(ex, x, { ...opts, steps: Math.min(spec.steps, 4) }); // prepares the engine
  out.igMs = await time(() => core.integratedGradients(ex, x, opts), spec.large ? 1 : 5);
  const r = await core.integratedGradients(ex, x, { ...opts, steps: 2 });
  out.source = r.gradientSource;
  out.batchUsed = r.batchSize;
  out.peakMiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
  process.stdout.write(JSON.stringify(out));
}

function runChild(spec) {
  const r = spawnSync(process.execPath, [__filename, 'child', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench child failed for ${JSON.stringify(spec)}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function fmt(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

function main() {
  const quick = process.argv.includes('--quick');
  const python = '/usr/bin/python3';
  let torch;
  const torchFile = path.join(benchModels, 'torch_timings.json');
  const haveTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;
  if (haveTorch) {
    process.stderr.write('exporting the large models and timing PyTorch eager (bench/bench_models.py)...\n');
    execFileSync(python, [path.join(__dirname, 'bench_models.py')], { stdio: ['ignore', 'inherit', 'ignore'], env: { ...process.env, BENCH_THREADS: String(os.cpus().length) } });
  }
  if (fs.existsSync(torchFile)) torch = JSON.parse(fs.readFileSync(torchFile, 'utf8'));
  const models = MODELS.filter((m) => fs.existsSync(path.join(root, m.file)));
  const skipped = MODELS.filter((m) => !models.includes(m)).map((m) => m.name);
  const main = [];
  const sweepBatch = [];
  const sweepSteps = [];
  const fd = [];
  for (const m of models) {
    process.stderr.write(`${m.name}...\n`);
    // the default internalBatchSize (sized to the model's activations), then the sweeps
    const r = runChild({ ...m, steps: 50, forward: true });
    main.push(r);
    if (!quick) {
      for (const batch of [1, 8, 16, 32, 50]) sweepBatch.push(runChild({ ...m, steps: 50, batch }));
      for (const steps of [25, 50, 100, 200]) sweepSteps.push(steps === 50 ? r : runChild({ ...m, steps }));
    }
    if (m.fd) fd.push(runChild({ ...m, steps: 50, gradients: 'fd' }));
  }
  const cpu = os.cpus()[0].model;
  const lines = [
    `Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; onnxruntime-node CPU EP${torch ? `; PyTorch ${torch.torch} eager, ${torch.threads} threads` : ''}.`,
    'Integrated Gradients, 50 Gauss-Legendre steps, default internalBatchSize (sized to the model\'s activations; the column says which), target class 0, one input. PyTorch runs all 50 steps in one batch, as Captum does by default.',
    torch ? '' : 'PyTorch column left out: no /usr/bin/python3 with torch and onnx here.',
    skipped.length ? `Not measured (models not exported, needs Python with torch): ${skipped.join(', ')}.` : '',
    '',
    '| model | IG | rows per run | forward, batch 1 | IG / (50 x forward b1) | forward, batch 50 | IG / forward b50 | peak RSS | PyTorch eager IG | onnx-explain vs PyTorch |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...main.map((r) => {
      const t = torch?.models?.[r.key];
      return `| ${r.name} | ${fmt(r.igMs)} | ${r.batchUsed} | ${fmt(r.forwardB1)} | ${(r.igMs / (50 * r.forwardB1)).toFixed(2)} | ${fmt(r.forwardB50)} | ${(r.igMs / r.forwardB50).toFixed(2)} | ${r.peakMiB.toFixed(0)} MiB | ${t ? fmt(t.ig_ms) : r.noTorch ? 'not timed' : '-'} | ${t ? (t.ig_ms >= r.igMs ? `${(t.ig_ms / r.igMs).toFixed(2)}x faster` : `${(r.igMs / t.ig_ms).toFixed(2)}x slower`) : '-'} |`;
    }),
  ];
  if (!quick) {
    lines.push('', 'By internalBatchSize (50 steps):', '', '| model | 1 | 8 | 16 | 32 | 50 |', '| --- | --- | --- | --- | --- | --- |');
    for (const m of models) {
      const rs = sweepBatch.filter((r) => r.key === m.key);
      lines.push(`| ${m.name} | ${rs.map((r) => `${fmt(r.igMs)}, ${r.peakMiB.toFixed(0)} MiB`).join(' | ')} |`);
    }
    lines.push('', 'By steps (default internalBatchSize):', '', '| model | 25 | 50 | 100 | 200 |', '| --- | --- | --- | --- | --- |');
    for (const m of models) {
      const rs = sweepSteps.filter((r) => r.key === m.key);
      lines.push(`| ${m.name} | ${rs.map((r) => `${fmt(r.igMs)}, ${r.peakMiB.toFixed(0)} MiB`).join(' | ')} |`);
    }
  }
  if (fd.length) {
    lines.push('', 'Finite-difference fallback (same IG, gradients by central differences):', '', '| model | graph gradients | finite differences | slower by |', '| --- | --- | --- | --- |');
    for (const r of fd) {
      const g = main.find((x) => x.key === r.key);
      lines.push(`| ${r.name} | ${fmt(g.igMs)} | ${fmt(r.igMs)} | ${(r.igMs / g.igMs).toFixed(1)}x |`);
    }
  }
  if (torch) {
    lines.push('', 'PyTorch eager, same weights and inputs:', '', '| model | forward b1 | forward b50 | IG (50 steps, one batch) |', '| --- | --- | --- | --- |');
    for (const [k, t] of Object.entries(torch.models)) {
      lines.push(`| ${MODELS.find((m) => m.key === k)?.name ?? k} | ${fmt(t.forward_b1_ms)} | ${fmt(t.forward_b50_ms)} | ${fmt(t.ig_ms)} |`);
    }
  }
  const md = lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n') + '\n';
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results/ig-bench.md'), md);
  fs.writeFileSync(path.join(__dirname, 'results/ig-bench.json'), JSON.stringify({ machine: cpu, torch, main, sweepBatch, sweepSteps, fd }, null, 1) + '\n');
  process.stdout.write(md);
}

if (process.argv[2] === 'child') {
  child(JSON.parse(process.argv[3])).catch((e) => {
    process.stderr.write(String(e.stack || e) + '\n');
    process.exit(1);
  });
} else {
  main();
}
