#!/usr/bin/env node
/**
 * `pnpm bench`: what Integrated Gradients costs on the CPU EP, against what a
 * user would run instead, on the same machine in the same minutes.
 *
 * Contestants, each a warm process that stays up for the whole bench and is
 * asked for one timed run at a time, in turn (onnx-explain, Captum, PyTorch
 * eager, onnx-explain's forward, PyTorch's forward), so that a noisy minute
 * hits all of them:
 *  - onnx-explain: `integratedGradients` with 50 Gauss-Legendre steps and
 *    default options (internalBatchSize sized to the model), warm;
 *  - Captum 0.8 `IntegratedGradients.attribute(..., method='gausslegendre')`
 *    at its best internal_batch_size of 10, 25 and 50 (chosen per model, in
 *    this run), when CAPTUM_SRC names Captum's source tree;
 *  - IG by hand in PyTorch eager, all 50 steps in one batch;
 *  - the batch-50 forward pass of onnxruntime and of PyTorch.
 * Python with torch (Debian's python3-torch, python3-torchvision, python3-onnx)
 * exports the models (bench/bench_models.py export) and serves its timings
 * (bench_models.py serve); without it the PyTorch columns say "not timed".
 *
 * Time to accuracy (models trained, the shipped ones): the attributions of
 * 1000 Gauss-Legendre steps are the converged ones; `steps: 'auto'` (default
 * tolerance 1%) is timed and its relative L2 error reported, against Captum's
 * fixed 50 steps (time and error).
 *
 * Memory: peak RSS of a fresh process running IG against one running only the
 * forward pass at the same batch (the rows per run IG used).
 *
 * Writes bench/results/ig-bench.md and .json (machine, versions, commit).
 *   node bench/ig-bench.js [--quick]   (--quick: the shipped models only)
 */
'use strict';
const { execFileSync, fork, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { python, pythonWorker, median, min, fmt, ratio, relL2 } = require('./common');

const EMB = '/embedding/Gather_output_0';

const MODELS = [
  { name: 'tabular MLP', key: 'tabular_mlp', file: 'models/tabular_mlp.onnx', input: 'models/samples/patient_0.npy', trained: true },
  { name: 'digits CNN', key: 'digits_cnn', file: 'models/digits_cnn.onnx', input: 'models/samples/digit_3.npy', trained: true },
  { name: 'text classifier (layer IG)', key: 'text_classifier', file: 'models/text_classifier.onnx', input: 'models/samples/review_positive.npy', at: EMB, trained: true },
  { name: 'ResNet-18 (torchvision)', key: 'tv_resnet18', file: 'bench/models/tv_resnet18.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'MobileNetV2 (torchvision)', key: 'tv_mobilenet_v2', file: 'bench/models/tv_mobilenet_v2.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'SqueezeNet 1.1 (torchvision)', key: 'tv_squeezenet1_1', file: 'bench/models/tv_squeezenet1_1.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'EfficientNet-B0 (torchvision)', key: 'tv_efficientnet_b0', file: 'bench/models/tv_efficientnet_b0.onnx', input: 'bench/models/image224.npy', large: true },
  { name: 'encoder, 128 tokens (layer IG)', key: 'encoder128', file: 'bench/models/encoder128.onnx', input: 'bench/models/tokens128.npy', at: 'embedding', large: true },
];

// ---------------------------------------------------------------- worker side

/** The model, its input and an explainer, for a worker or a memory probe. */
async function prepare(spec) {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const { model } = await node.loadModelFile(path.join(root, spec.file));
  const runtime = new node.OrtNodeRuntime({ executionProviders: ['cpu'] });
  const arr = node.parseNpy(fs.readFileSync(path.join(root, spec.input)));
  const name = core.summarizeModel(model).inputs[0].name;
  const x = { [name]: { type: arr.dtype, dims: arr.shape, data: arr.data } };
  const at = spec.at === 'embedding' ? core.embeddingOutputs(model)[0] : spec.at;
  return { core, node, model, runtime, x, at, explainer: new core.Explainer(runtime, model) };
}

const tile = (core, x, n) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, core.tileBatch(v, n)]));
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** A warm onnx-explain process: answers {op: 'ig' | 'forward' | 'auto' | 'reference' | 'error'} over IPC. */
async function worker(spec) {
  const { core, node, model, runtime, x, at, explainer } = await prepare(spec);
  let forward;
  let reference;
  const attrOf = (r) => r.attributions[Object.keys(r.attributions)[0]].data;
  const base = { at, target: 0 };
  process.on('message', async (req) => {
    try {
      let out;
      if (req.op === 'ig') {
        const t0 = now();
        const r = await core.integratedGradients(explainer, x, { ...base, steps: req.steps });
        out = { ms: now() - t0, source: r.gradientSource, batchUsed: r.batchSize };
      } else if (req.op === 'gradrun') {
        // one session run of the gradient model over the rows IG(50) runs at once (points, F(x'), F(x)): the floor of IG's cost
        const engine = await explainer.engine(x, base, { kind: 'class' });
        const feeds = await explainer.modelFeeds(engine, x);
        const rows = Math.min(52, engine.suggestedBatchSize());
        const tiled = tile(core, feeds, rows);
        const t0 = now();
        await engine.run(tiled, new Array(rows).fill(0), true);
        out = { ms: now() - t0, rows };
      } else if (req.op === 'forward') {
        forward ??= await runtime.createSession(model);
        const xb = tile(core, x, req.batch);
        const t0 = now();
        await forward.run(xb);
        out = { ms: now() - t0 };
      } else if (req.op === 'reference') {
        reference = attrOf(await core.integratedGradients(explainer, x, { ...base, steps: req.steps }));
        out = {};
      } else if (req.op === 'auto') {
        const t0 = now();
        const r = await core.integratedGradients(explainer, x, { ...base, steps: 'auto', tolerance: req.tolerance });
        out = { ms: now() - t0, steps: r.steps, converged: r.adaptive.converged[0], error: relL2(attrOf(r), reference) };
      } else if (req.op === 'error') {
        const a = node.parseNpy(fs.readFileSync(req.file)).data;
        out = { error: relL2(a, reference) };
      }
      process.send(out);
    } catch (e) {
      process.send({ failed: String(e.stack || e) });
    }
  });
  process.send({ ready: true });
}

/** Peak RSS of a fresh process: IG, or the forward pass alone, at `batch` rows. */
async function memoryProbe(spec) {
  const { core, runtime, model, x, at, explainer } = await prepare(spec);
  if (spec.what === 'forward') {
    const s = await runtime.createSession(model);
    const xb = tile(core, x, spec.batch);
    for (let i = 0; i < 2; i++) await s.run(xb);
  } else {
    for (let i = 0; i < 2; i++) await core.integratedGradients(explainer, x, { at, target: 0, steps: 50, internalBatchSize: spec.batch });
  }
  process.stdout.write(JSON.stringify({ peakMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}

// ------------------------------------------------------------------ main side

function nodeWorker(spec) {
  const child = fork(__filename, ['worker', JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let pending;
  child.on('message', (m) => pending?.(m));
  const ask = (req) =>
    new Promise((resolve, reject) => {
      pending = (m) => (m.failed ? reject(new Error(`${spec.key}: ${m.failed}`)) : resolve(m));
      if (req) child.send(req);
    });
  return { ready: ask(null), ask, stop: () => child.kill() };
}

async function benchModel(m, py) {
  const w = nodeWorker(m);
  await w.ready;
  const reps = m.large ? 3 : 7;
  const out = { key: m.key, name: m.name, reps };
  // warm-ups: the first IG prepares the gradient engine
  Object.assign(out, await w.ask({ op: 'ig', steps: 50 }));
  await w.ask({ op: 'forward', batch: 50 });
  let captumIbs;
  if (py) {
    await py.ask({ op: 'eager', key: m.key, steps: 50 });
    await py.ask({ op: 'forward', key: m.key, batch: 50 });
    const tries = {};
    for (const ibs of [10, 25, 50]) {
      const r = await py.ask({ op: 'captum', key: m.key, steps: 50, ibs });
      if (r.error) break;
      tries[ibs] = (await py.ask({ op: 'captum', key: m.key, steps: 50, ibs })).ms;
    }
    if (Object.keys(tries).length) captumIbs = Number(Object.entries(tries).sort((a, b) => a[1] - b[1])[0][0]);
    out.captumIbsTried = tries;
  }
  await w.ask({ op: 'gradrun' });
  const t = { ours: [], captum: [], eager: [], ortForward: [], torchForward: [], gradRun: [], ortForwardAtRows: [], torchForwardAtIbs: [] };
  for (let i = 0; i < reps; i++) {
    t.ours.push((await w.ask({ op: 'ig', steps: 50 })).ms);
    if (py) {
      if (captumIbs) t.captum.push((await py.ask({ op: 'captum', key: m.key, steps: 50, ibs: captumIbs })).ms);
      t.eager.push((await py.ask({ op: 'eager', key: m.key, steps: 50 })).ms);
      t.torchForward.push((await py.ask({ op: 'forward', key: m.key, batch: 50 })).ms);
    }
    t.ortForward.push((await w.ask({ op: 'forward', batch: 50 })).ms);
    // the forward each side runs inside IG: ours at IG's rows per run, PyTorch's at Captum's internal_batch_size
    t.ortForwardAtRows.push((await w.ask({ op: 'forward', batch: out.batchUsed })).ms / out.batchUsed);
    if (py && captumIbs) t.torchForwardAtIbs.push((await py.ask({ op: 'forward', key: m.key, batch: captumIbs })).ms / captumIbs);
    const g = await w.ask({ op: 'gradrun' });
    t.gradRun.push(g.ms);
    out.gradRunRows = g.rows;
  }
  out.times = t;
  out.captumIbs = captumIbs;
  if (m.trained) {
    // time to accuracy against the 1000-step attributions
    await w.ask({ op: 'reference', steps: 1000 });
    const auto = [];
    for (let i = 0; i < reps; i++) auto.push(await w.ask({ op: 'auto', tolerance: 0.01 }));
    out.auto = { ms: auto.map((a) => a.ms), steps: auto[0].steps, error: auto[0].error, converged: auto[0].converged };
    if (captumIbs) {
      const file = path.join(os.tmpdir(), `captum-${m.key}.npy`);
      await py.ask({ op: 'captum', key: m.key, steps: 50, ibs: captumIbs, save: file });
      out.captumError = (await w.ask({ op: 'error', file })).error;
    }
  }
  w.stop();
  return out;
}

function memory(m, batch) {
  const probe = (what) => {
    const r = spawnSync(process.execPath, [__filename, 'memory', JSON.stringify({ ...m, what, batch })], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`memory probe failed for ${m.key}: ${r.stderr}`);
    return JSON.parse(r.stdout).peakMiB;
  };
  return { forwardMiB: probe('forward'), igMiB: probe('ig'), batch };
}

function versions() {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';
  const ort = require(path.join(root, 'node_modules/onnxruntime-node/package.json')).version;
  return { commit: commit + (dirty ? ' (with uncommitted changes)' : ''), node: process.version, onnxruntime: ort, cpu: os.cpus()[0].model, cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) };
}

async function main() {
  const quick = process.argv.includes('--quick');
  const v = versions(); // the commit measured: taken before any run
  const haveTorch = fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;
  if (haveTorch && !quick) {
    process.stderr.write('exporting the torchvision models and the encoder (bench/bench_models.py export)...\n');
    execFileSync(python, [path.join(__dirname, 'bench_models.py'), 'export'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const py = haveTorch ? pythonWorker() : undefined;
  const pyInfo = py ? await py.ready : undefined;
  const models = MODELS.filter((m) => (!quick || !m.large) && fs.existsSync(path.join(root, m.file)));
  const skipped = MODELS.filter((m) => !models.includes(m) && !(quick && m.large)).map((m) => m.name);
  const results = [];
  for (const m of models) {
    process.stderr.write(`${m.name}...\n`);
    const r = await benchModel(m, py);
    r.memory = memory(m, r.batchUsed);
    results.push(r);
  }
  py?.stop();
  const lines = [
    `Machine: ${v.cpu}, ${v.cores} cores, ${v.memGiB} GiB; Node ${v.node}, onnxruntime-node ${v.onnxruntime} CPU EP; ${pyInfo ? `PyTorch ${pyInfo.torch} (${pyInfo.threads} threads)${pyInfo.captum ? `, Captum ${pyInfo.captum}` : ', Captum not timed (set CAPTUM_SRC to its source tree)'}` : 'PyTorch not timed (no /usr/bin/python3 with torch, torchvision and onnx)'}; commit ${v.commit}; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    'Integrated Gradients, 50 Gauss-Legendre steps, target class 0, one input, zero baseline; onnx-explain with default options. Each contestant is a warm process; the runs alternate (onnx-explain, Captum, eager, forwards), min and median of the repeats (3 for the large models, 7 for the small).',
    skipped.length ? `Not measured (models not exported: needs Python with torch and torchvision): ${skipped.join(', ')}.` : '',
    '',
    '| model | onnx-explain IG (min / median) | rows per run | ORT forward b50 | IG / forward b50 | Captum IG (best internal_batch_size) | vs Captum | PyTorch eager IG | vs eager | PyTorch forward b50 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const t = r.times;
      const c = t.captum.length ? min(t.captum) : undefined;
      const e = t.eager.length ? min(t.eager) : undefined;
      return `| ${r.name} | ${fmt(min(t.ours))} / ${fmt(median(t.ours))} | ${r.batchUsed} | ${fmt(min(t.ortForward))} | ${(min(t.ours) / min(t.ortForward)).toFixed(2)} | ${c === undefined ? 'not timed' : `${fmt(c)} / ${fmt(median(t.captum))} (${r.captumIbs})`} | ${ratio(min(t.ours), c)} | ${e === undefined ? 'not timed' : `${fmt(e)} / ${fmt(median(t.eager))}`} | ${ratio(min(t.ours), e)} | ${t.torchForward.length ? fmt(min(t.torchForward)) : 'not timed'} |`;
    }),
    '',
    'Fixed overhead: IG(50) against the session runs it cannot avoid, one run of the gradient model over as many rows as IG puts in one run, times the runs IG makes (ceil(52 / rows per run)).',
    '',
    '| model | IG (min) | gradient-model runs (min) | IG / runs |',
    '| --- | --- | --- | --- |',
    ...results.map((r) => {
      const runs = Math.ceil(52 / r.gradRunRows) * min(r.times.gradRun);
      return `| ${r.name} | ${fmt(min(r.times.ours))} | ${Math.ceil(52 / r.gradRunRows)} x ${fmt(min(r.times.gradRun))} | ${(min(r.times.ours) / runs).toFixed(2)} |`;
    }),
    '',
    'Per row, at the batch each side runs inside IG (ours: its rows per run; PyTorch: Captum\'s internal_batch_size): the forward pass, and IG\'s cost per point over it (IG time / 52 rows for ours, / 50 points for Captum, each over its own forward).',
    '',
    '| model | ORT forward per row | PyTorch forward per row | onnx-explain IG per row / ORT forward | Captum IG per point / PyTorch forward |',
    '| --- | --- | --- | --- | --- |',
    ...results
      .filter((r) => r.times.torchForwardAtIbs.length)
      .map((r) => {
        const [of, tf] = [min(r.times.ortForwardAtRows), min(r.times.torchForwardAtIbs)];
        return `| ${r.name} (${r.batchUsed} / ${r.captumIbs}) | ${fmt(of)} | ${fmt(tf)} | ${(min(r.times.ours) / 52 / of).toFixed(2)} | ${(min(r.times.captum) / 50 / tf).toFixed(2)} |`;
      }),
    '',
    'Time to accuracy on the trained models: the relative L2 distance of the attributions from those of 1000 Gauss-Legendre steps, onnx-explain `steps: \'auto\'` (tolerance 1%) against Captum\'s 50 fixed steps (min of the repeats).',
    '',
    '| model | onnx-explain auto: time | steps | error | Captum 50 steps: time | error | time ratio |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results
      .filter((r) => r.auto)
      .map((r) => {
        const c = r.times.captum.length ? min(r.times.captum) : undefined;
        return `| ${r.name} | ${fmt(min(r.auto.ms))} | ${r.auto.steps}${r.auto.converged ? '' : ' (not converged)'} | ${(100 * r.auto.error).toFixed(2)}% | ${fmt(c)} | ${r.captumError === undefined ? '-' : `${(100 * r.captumError).toFixed(2)}%`} | ${ratio(min(r.auto.ms), c)} |`;
      }),
    '',
    'Peak RSS of a fresh process: IG (50 steps) against the forward pass alone, both at the rows per run IG used.',
    '',
    '| model | rows | forward only | IG | IG / forward |',
    '| --- | --- | --- | --- | --- |',
    ...results.map((r) => `| ${r.name} | ${r.memory.batch} | ${r.memory.forwardMiB.toFixed(0)} MiB | ${r.memory.igMiB.toFixed(0)} MiB | ${(r.memory.igMiB / r.memory.forwardMiB).toFixed(2)} |`),
  ];
  const md = lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n') + '\n';
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results/ig-bench.md'), md);
  fs.writeFileSync(path.join(__dirname, 'results/ig-bench.json'), JSON.stringify({ versions: v, python: pyInfo, results }, null, 1) + '\n');
  process.stdout.write(md);
}

const [mode, arg] = process.argv.slice(2);
const fail = (e) => {
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
};
if (mode === 'worker') worker(JSON.parse(arg)).catch(fail);
else if (mode === 'memory') memoryProbe(JSON.parse(arg)).catch(fail);
else main().catch(fail);
