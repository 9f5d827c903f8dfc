#!/usr/bin/env node
/**
 * Part of `pnpm bench` (issue 16): what each quality metric costs, in model
 * evaluations (rows through a session, forward or gradient, counted by
 * wrapping the runtime's session.run) and wall time, on the shipped digits
 * CNN (models/digits_cnn.onnx, digit_3.npy) and torchvision's ResNet-18
 * (bench/models, random seeded weights, one 224x224 image), target class 0.
 * The IG(32) attributions the metrics judge are computed once beforehand.
 * Infidelity and sensitivity-max are also timed against Captum 0.8's
 * captum.metrics.infidelity / sensitivity_max on the same PyTorch model
 * (same perturbation count, IG(32) Gauss-Legendre), alternating in the same
 * run, at Captum's default max_examples_per_batch and at the fastest of a
 * few values tried in the warm-up. Both sides use THREADS threads.
 * The cascading sanity check on ResNet-18 (one gradient model per layer) is
 * only run with METRICS_SANITY_RESNET=1; otherwise its evaluations are
 * worked out as (layers + 1) x the rows of one IG(32) run and it is not timed.
 *
 * Writes bench/results/metrics-bench.md and .json.
 *   CAPTUM_SRC=/path/to/captum-0.8 node bench/metrics-bench.js
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { python, pythonWorker, median, min, fmt, ratio } = require('./common');

const root = path.resolve(__dirname, '..');
const ROUNDS = 3;
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const STEPS = 32;
const now = () => Number(process.hrtime.bigint()) / 1e6;

// the Captum side: bench_models.load gives the same PyTorch models ig-bench.js uses
const PY = `
import json, os, sys, time
sys.path.insert(0, ${JSON.stringify(__dirname)})
import torch
torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
import bench_models as bm
sys.path.insert(0, os.environ["CAPTUM_SRC"])
import captum
from captum.attr import IntegratedGradients
from captum.metrics import infidelity, sensitivity_max, infidelity_perturb_func_decorator
print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "captum": captum.__version__}), flush=True)
cache = {}
for line in sys.stdin:
    req = json.loads(line)
    key = req["key"]
    if key not in cache:
        fwd, fn, x, fx = bm.load(key)
        ig = IntegratedGradients(fn)
        attr = ig.attribute(x, target=0, n_steps=req["steps"], method="gausslegendre").detach()
        cache[key] = (fwd, ig, x, attr)
    fwd, ig, x, attr = cache[key]
    rows = [0]
    def counted(b):
        rows[0] += b.shape[0]
        return fwd(b)
    torch.manual_seed(0)
    std = req.get("std", 0.003)
    @infidelity_perturb_func_decorator(True)
    def perturb(inp):
        return inp - std * torch.randn_like(inp)
    mepb = req.get("mepb")
    t0 = time.perf_counter()
    if req["op"] == "infidelity":
        with torch.no_grad():
            v = infidelity(counted, perturb, x, attr, target=0, n_perturb_samples=req["samples"], max_examples_per_batch=mepb)
    else:
        def explain(inp, target):
            b = (inp[0] if isinstance(inp, tuple) else inp).shape[0]
            rows[0] += b * req["steps"]
            return ig.attribute(inp, target=target, n_steps=req["steps"], method="gausslegendre")
        v = sensitivity_max(explain, x, perturb_radius=req.get("radius", 0.02), n_perturb_samples=req["samples"], max_examples_per_batch=mepb, target=0)
    ms = (time.perf_counter() - t0) * 1e3
    print(json.dumps({"ms": ms, "rows": rows[0], "value": float(v.reshape(-1)[0])}), flush=True)
`;

/** The runtime with every session.run counting its feeds' rows (first dimension of the first feed). */
function counting(runtime) {
  const counter = { rows: 0, runs: 0 };
  const wrapped = new Proxy(runtime, {
    get(target, prop) {
      if (prop === 'createSession')
        return async (m) => {
          const s = await target.createSession(m);
          return new Proxy(s, {
            get(t, p) {
              if (p === 'run')
                return (feeds, outs) => {
                  const first = Object.values(feeds)[0];
                  counter.rows += first?.dims?.[0] ?? 1;
                  counter.runs++;
                  return t.run(feeds, outs);
                };
              const v = t[p];
              return typeof v === 'function' ? v.bind(t) : v;
            },
          });
        };
      const v = target[prop];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { runtime: wrapped, counter };
}

async function benchModel(core, node, spec, py) {
  const base = new node.OrtNodeRuntime({ executionProviders: ['cpu'], intraOpNumThreads: THREADS });
  const { runtime, counter } = counting(base);
  const { model } = await node.loadModelFile(spec.file);
  const a = core.parseNpy(new Uint8Array(fs.readFileSync(spec.sample)), path.basename(spec.sample));
  const ex = new core.Explainer(runtime, model);
  const x = { [model.graph.input[0].name]: { type: a.dtype, dims: a.shape, data: a.data } };
  const t0 = now();
  let c0 = counter.rows;
  const ig = await core.explainWith(ex, x, { method: 'ig', target: 0, steps: STEPS });
  const igFirst = now() - t0;
  const igRows = counter.rows - c0;
  c0 = counter.rows;
  const t1 = now();
  await core.explainWith(ex, x, { method: 'ig', target: 0, steps: STEPS });
  const igWarm = now() - t1;
  const igWarmRows = counter.rows - c0;
  const attributions = ig.attributions;
  const s = spec.samples;
  const metrics = {
    infidelity: () => core.infidelity(ex, x, attributions, { target: 0, samples: s.infidelity, noiseStd: 0.003, seed: 1 }),
    'sensitivity-max': () => core.sensitivityMax(ex, x, { method: 'ig', steps: STEPS, target: 0, perturbSamples: s.sensitivity, radius: 0.02 }),
    deletion: () => core.deletionCurve(ex, x, attributions, { target: 0, mode: 'deletion', featureMask: 'grid:8x8', steps: 16 }),
    insertion: () => core.deletionCurve(ex, x, attributions, { target: 0, mode: 'insertion', featureMask: 'grid:8x8', steps: 16 }),
    'ig-convergence': () => core.igConvergence(ex, x, { target: 0, stepsList: [4, 8, 16, 32] }),
    ...(spec.sanity ? { sanity: () => core.sanityCheck(ex, x, { method: 'ig', steps: STEPS, target: 0, mode: 'cascading' }) } : {}),
  };
  const what = {
    infidelity: `${s.infidelity} perturbations, noise std 0.003`,
    'sensitivity-max': `${s.sensitivity} perturbation${s.sensitivity === 1 ? '' : 's'} x IG(${STEPS}), radius 0.02`,
    deletion: 'grid:8x8 (64 features), 16 steps',
    insertion: 'grid:8x8 (64 features), 16 steps',
    'ig-convergence': 'IG at 4, 8, 16, 32 steps',
    sanity: `cascading, IG(${STEPS}) per layer`,
  };
  const rows = {};
  const captumReq = { infidelity: { op: 'infidelity', samples: s.infidelity }, 'sensitivity-max': { op: 'sensitivity', samples: s.sensitivity } };
  // first calls: evaluations, and the Captum warm-up with its max_examples_per_batch candidates
  for (const [m, f] of Object.entries(metrics)) {
    c0 = counter.rows;
    const t = now();
    const r = await f();
    rows[m] = { what: what[m], first: now() - t, evaluations: counter.rows - c0, reported: r.evaluations, ours: [], captum: {} };
    if (py && captumReq[m]) {
      // two warm-up calls per max_examples_per_batch (null: Captum's default), the fastest kept
      const cands = [null, ...spec.mepb[m]];
      const trial = {};
      await py.ask({ ...captumReq[m], key: spec.key, steps: STEPS, mepb: null }); // Captum's first call apart
      for (const mepb of [...cands, ...cands]) {
        const c = await py.ask({ ...captumReq[m], key: spec.key, steps: STEPS, mepb });
        trial[mepb] = { ms: Math.min(c.ms, trial[mepb]?.ms ?? Infinity), rows: c.rows };
        rows[m].captumRows = rows[m].captumRows ?? c.rows;
        rows[m].captumValue = rows[m].captumValue ?? c.value;
      }
      const best = cands.reduce((b, v) => (trial[v].ms < trial[b].ms ? v : b), null);
      rows[m].mepb = [null, best];
      rows[m].trial = trial;
      rows[m].captum = { default: [], best: [] };
    }
    rows[m].value = m === 'infidelity' ? r.infidelity[0] : m === 'sensitivity-max' ? r.sensitivity[0] : m === 'deletion' || m === 'insertion' ? r.auc[0] : undefined;
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [m, f] of Object.entries(metrics)) {
      const t = now();
      await f();
      rows[m].ours.push(now() - t);
      if (py && captumReq[m]) {
        for (const [label, mepb] of rows[m].mepb[1] === null ? [['default', null]] : [['default', null], ['best', rows[m].mepb[1]]]) {
          const c = await py.ask({ ...captumReq[m], key: spec.key, steps: STEPS, mepb });
          rows[m].captum[label].push(c.ms);
        }
      }
    }
    process.stderr.write(`${spec.name}: round ${round + 1} of ${ROUNDS}\n`);
  }
  // sanity: IG on the model (warm) and on one fresh copy per layer (first calls)
  const layers = core.learnedLayers(model).length;
  const sanityRows = igWarmRows + layers * igRows;
  if (spec.sanity && rows.sanity.evaluations !== sanityRows) process.stderr.write(`${spec.name}: sanity ran ${rows.sanity.evaluations} rows, not ${igWarmRows} + ${layers} x ${igRows}\n`);
  if (!spec.sanity) {
    rows.sanity = { what: `cascading, IG(${STEPS}) per layer; not run (METRICS_SANITY_RESNET=1 runs it; one call took 206 s on 2 loaded cores, 5-20 s a layer): ${igWarmRows} + ${layers} layers x ${igRows} rows (IG's first call on each randomised copy)`, evaluations: sanityRows, estimated: true, ours: [] };
  }
  await ex.release();
  return { name: spec.name, igFirst, igRows, igWarm, igWarmRows, layers, rows };
}

async function main() {
  const resnet = path.join(root, 'bench/models/tv_resnet18.onnx');
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const captumOk = !!process.env.CAPTUM_SRC && fs.existsSync(python) && spawnSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  const py = captumOk ? pythonWorker(['-c', PY], { BENCH_THREADS: String(THREADS) }) : undefined;
  let finished = false;
  py?.child.on('exit', (code) => {
    if (!finished) {
      process.stderr.write(`the Captum worker exited (code ${code}) before the bench finished: run its source by hand to see why\n`);
      process.exit(1);
    }
  });
  const pyInfo = py ? await py.ready : undefined;
  const specs = [
    {
      name: 'digits CNN',
      key: 'digits_cnn',
      file: path.join(root, 'models/digits_cnn.onnx'),
      sample: path.join(root, 'models/samples/digit_3.npy'),
      samples: { infidelity: 10, sensitivity: 10 },
      mepb: { infidelity: [1, 5], 'sensitivity-max': [1, 2, 5] },
      sanity: true,
    },
  ];
  if (fs.existsSync(resnet))
    specs.push({
      name: 'ResNet-18 (torchvision)',
      key: 'tv_resnet18',
      file: resnet,
      sample: path.join(root, 'bench/models/image224.npy'),
      // sensitivity: 1 perturbation by default (METRICS_RESNET_SAMPLES=2 shows Captum's default batch, all perturbations x steps in one, slower than 1)
      samples: { infidelity: 10, sensitivity: Number(process.env.METRICS_RESNET_SAMPLES ?? 1) },
      mepb: { infidelity: [5], 'sensitivity-max': Number(process.env.METRICS_RESNET_SAMPLES ?? 1) > 1 ? [1] : [] },
      sanity: process.env.METRICS_SANITY_RESNET === '1',
    });
  else process.stderr.write('bench/models/tv_resnet18.onnx is missing: run bench_models.py export (pnpm bench does, through ig-bench.js); digits CNN only\n');
  const loadStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const started = now();
  const results = [];
  for (const spec of specs) results.push(await benchModel(core, node, spec, py));
  finished = true;
  py?.stop();
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const machine = `${os.cpus()[0].model.replace(/ \d+-Core.*/, '')}, ${os.cpus().length} cores`;
  const wall = (now() - started) / 1000;
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const date = new Date().toISOString().slice(0, 10);
  const cap = (r, label) => (r.captum?.[label]?.length ? `${fmt(min(r.captum[label]))} / ${fmt(median(r.captum[label]))}` : '-');
  const md = [
    '# Quality metrics: model evaluations and time',
    '',
    `${machine} (load average ${loadStart} at the start, ${load} at the end; the bench took ${wall.toFixed(0)} s), Node ${process.version}, CPU EP, ${THREADS} threads${pyInfo ? `; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads), Captum ${pyInfo.captum}` : '; Captum not timed (set CAPTUM_SRC)'}; commit ${commit}; ${date}. Target class 0; the IG(${STEPS}) attributions judged are computed once beforehand. Evaluations: rows through a session (forward or gradient model), counted by wrapping session.run; Captum's: rows through the model (sensitivity: perturbed rows x steps). Warm runs alternate onnx-explain / Captum (default max_examples_per_batch, then the fastest of those tried in the warm-up), ${ROUNDS} each (min / median).`,
    '',
    ...results.flatMap((res) => [
      `## ${res.name}`,
      '',
      `IG(${STEPS}) beforehand: first call (builds the gradient model) ${res.igRows} rows, ${fmt(res.igFirst)}; warm ${res.igWarmRows} rows, ${fmt(res.igWarm)}. ${res.layers} learned layers.`,
      '',
      '| metric | setting | evaluations (reported) | first call | onnx-explain (min / median) | Captum rows | Captum, default batch (min / median) | Captum, max_examples_per_batch | vs Captum default (medians) | vs Captum best (medians) | value (ours / Captum) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...Object.entries(res.rows).map(([m, r]) => {
        const has = r.captum?.default?.length;
        const ev = `${r.estimated ? '~' : ''}${r.evaluations}${r.reported !== undefined ? ` (${r.reported})` : ''}`;
        const ours = r.ours.length ? `${fmt(min(r.ours))} / ${fmt(median(r.ours))}` : 'not timed';
        const val = r.value !== undefined ? `${r.value.toExponential(3)}${r.captumValue !== undefined ? ` / ${r.captumValue.toExponential(3)}` : ''}` : '-';
        return `| ${m} | ${r.what} | ${ev} | ${r.first !== undefined ? fmt(r.first) : '-'} | ${ours} | ${r.captumRows ?? '-'} | ${cap(r, 'default')} | ${has ? (r.mepb[1] === null ? `default fastest of ${Object.keys(r.trial).join(', ')}` : `${r.mepb[1]}: ${cap(r, 'best')}`) : '-'} | ${has ? ratio(median(r.ours), median(r.captum.default)) : '-'} | ${has && r.mepb[1] !== null ? ratio(median(r.ours), median(r.captum.best)) : '-'} | ${val} |`;
      }),
      '',
    ]),
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/metrics-bench.md'), md);
  fs.writeFileSync(path.join(root, 'bench/results/metrics-bench.json'), JSON.stringify({ machine, loadStart, load, wall, threads: THREADS, node: process.version, python: pyInfo, commit, date, rounds: ROUNDS, results }, null, 1));
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
