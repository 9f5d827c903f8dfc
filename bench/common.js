/** What the benches share: the Python worker that times PyTorch and Captum (bench_models.py serve), and how times are shown. */
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const python = '/usr/bin/python3';

/**
 * A warm Python process answering one JSON request per line (by default bench_models.py serve; `args` runs
 * another script, e.g. ['-c', source]); CAPTUM_SRC passes through, `env` adds to the environment.
 */
function pythonWorker(args = [path.join(__dirname, 'bench_models.py'), 'serve'], env = {}) {
  env = { ...process.env, BENCH_THREADS: String(os.cpus().length), ...env };
  const child = spawn(python, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = readline.createInterface({ input: child.stdout });
  const queue = [];
  lines.on('line', (l) => queue.shift()?.(JSON.parse(l)));
  const ask = (req) =>
    new Promise((resolve) => {
      queue.push(resolve);
      if (req) child.stdin.write(JSON.stringify(req) + '\n');
    });
  return { ready: ask(null), ask, stop: () => child.kill(), child };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);
function fmt(ms) {
  if (ms === undefined) return 'not timed';
  if (ms < 0.1) return `${(ms * 1000).toFixed(1)} µs`;
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}
const ratio = (ours, theirs) => (theirs === undefined ? '-' : theirs >= ours ? `${(theirs / ours).toFixed(2)}x faster` : `${(ours / theirs).toFixed(2)}x slower`);

/** 100 regression trees of depth 5 over 30 features, thresholds around `x`'s values (xorshift, seed 7). */
function treeEnsemble(core, x) {
  let s = 7;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const at = { treeids: [], nodeids: [], featureids: [], values: [], modes: [], truenodeids: [], falsenodeids: [] };
  const targets = { treeids: [], nodeids: [], ids: [], weights: [] };
  for (let t = 0; t < 100; t++) {
    for (let n = 0; n < 63; n++) {
      at.treeids.push(t);
      at.nodeids.push(n);
      if (n < 31) {
        const f = Math.floor(uniform() * 30);
        at.featureids.push(f);
        at.values.push(x[f] * (0.7 + 0.6 * uniform()));
        at.modes.push('BRANCH_LEQ');
        at.truenodeids.push(2 * n + 1);
        at.falsenodeids.push(2 * n + 2);
      } else {
        at.featureids.push(0);
        at.values.push(0);
        at.modes.push('LEAF');
        at.truenodeids.push(0);
        at.falsenodeids.push(0);
        targets.treeids.push(t);
        targets.nodeids.push(n);
        targets.ids.push(0);
        targets.weights.push(uniform() - 0.5);
      }
    }
  }
  const g = new core.GraphBuilder('trees');
  const input = g.input('features', core.DataType.FLOAT, ['N', 30]);
  const attrs = {
    n_targets: 1,
    nodes_treeids: at.treeids,
    nodes_nodeids: at.nodeids,
    nodes_featureids: at.featureids,
    nodes_values: core.Attr.floats(at.values),
    nodes_modes: at.modes,
    nodes_truenodeids: at.truenodeids,
    nodes_falsenodeids: at.falsenodeids,
    target_treeids: targets.treeids,
    target_nodeids: targets.nodeids,
    target_ids: targets.ids,
    target_weights: core.Attr.floats(targets.weights),
  };
  g.output(g.op('TreeEnsembleRegressor', [input], attrs, { domain: 'ai.onnx.ml', output: 'score' }), core.DataType.FLOAT, ['N', 1]);
  return core.makeModel(g.build(), { opset: 13, extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
}

/** Relative L2 distance of a from b. */
function relL2(a, b) {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

module.exports = { python, pythonWorker, median, min, fmt, ratio, treeEnsemble, relL2 };
