/** What the benches share: the Python worker that times PyTorch and Captum (bench_models.py serve), and how times are shown. */
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const python = '/usr/bin/python3';

/** A warm Python process answering one JSON request per line (bench_models.py serve); CAPTUM_SRC passes through. */
function pythonWorker() {
  const env = { ...process.env, BENCH_THREADS: String(os.cpus().length) };
  const child = spawn(python, [path.join(__dirname, 'bench_models.py'), 'serve'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = readline.createInterface({ input: child.stdout });
  const queue = [];
  lines.on('line', (l) => queue.shift()?.(JSON.parse(l)));
  const ask = (req) =>
    new Promise((resolve) => {
      queue.push(resolve);
      if (req) child.stdin.write(JSON.stringify(req) + '\n');
    });
  return { ready: ask(null), ask, stop: () => child.kill() };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);
function fmt(ms) {
  if (ms === undefined) return 'not timed';
  if (ms < 0.1) return `${(ms * 1000).toFixed(1)} µs`;
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}
const ratio = (ours, theirs) => (theirs === undefined ? '-' : theirs >= ours ? `${(theirs / ours).toFixed(2)}x faster` : `${(ours / theirs).toFixed(2)}x slower`);

module.exports = { python, pythonWorker, median, min, fmt, ratio };
