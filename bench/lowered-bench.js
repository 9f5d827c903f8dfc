#!/usr/bin/env node
/**
 * Part of `pnpm bench`: what lowering buys on a model whose ops have no
 * gradient rule. The byte LSTM (test/fixtures/lowered: two bidirectional
 * LSTM layers over byte embeddings, from sonos/tract) explained with
 * Integrated Gradients (50 Gauss-Legendre steps, at the embedding output)
 * two ways, the alternative being what a user had before: graph gradients
 * through the lowered LSTMs, and central finite differences through the
 * model as it is (2 x length x 32 extra rows per interpolation point).
 *
 * Each way runs in its own warm explainer, alternating, ROUNDS times; the
 * first call of each (which prepares the model: probe, lowering and its
 * check, gradient graph, session) is timed apart. The two results'
 * relative L2 difference is reported too.
 *
 * Writes bench/results/lowered-bench.md and .json.   node bench/lowered-bench.js
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const ROUNDS = 3;
const STEPS = 50;
// a sentence of 58 bytes, the length of tract's own test input
const TEXT = 'Das ist ein Test. Noch ein Satz, und dann: ein dritter!  ';

const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const file = path.join(root, 'test/fixtures/lowered/tract_byte_sb_bidi_lstm.onnx');
  const { model } = await node.loadModelFile(file);
  const runtime = new node.OrtNodeRuntime({ executionProviders: ['cpu'] });
  const bytes = Buffer.from(TEXT);
  const x = { input: { type: 'uint8', dims: [1, bytes.length], data: Uint8Array.from(bytes) } };
  const opts = { at: '21', target: { index: [9, 1] }, steps: STEPS };
  const ways = { graph: new core.Explainer(runtime, model), fd: new core.Explainer(runtime, model) };
  const first = {};
  const warm = { graph: [], fd: [] };
  const last = {};
  for (let round = 0; round <= ROUNDS; round++) {
    for (const way of ['graph', 'fd']) {
      const t0 = now();
      const r = await core.integratedGradients(ways[way], x, { ...opts, gradients: way });
      const ms = now() - t0;
      if (r.gradientSource !== way) throw new Error(`asked for ${way}, got ${r.gradientSource}`);
      if (round === 0) first[way] = ms;
      else warm[way].push(ms);
      last[way] = r;
    }
  }
  const a = last.graph.attributions['21'].data;
  const b = last.fd.attributions['21'].data;
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const result = {
    model: 'tract_byte_sb_bidi_lstm.onnx',
    bytes: bytes.length,
    steps: STEPS,
    rounds: ROUNDS,
    firstMs: first,
    warmMs: warm,
    warmMedianMs: { graph: median(warm.graph), fd: median(warm.fd) },
    ratioWarm: median(warm.fd) / median(warm.graph),
    ratioFirst: first.fd / first.graph,
    relL2GraphVsFd: Math.sqrt(d / n),
    delta: { graph: last.graph.delta[0], fd: last.fd.delta[0] },
    lowered: last.graph.lowered,
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    node: process.version,
    commit: commit + (dirty ? ' (with uncommitted changes)' : ''),
    date: new Date().toISOString().slice(0, 10),
  };
  const f = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const md = [
    '# Lowering: the byte LSTM by graph and by finite differences',
    '',
    `Integrated Gradients, ${STEPS} Gauss-Legendre steps, at the embedding output ('21', ${bytes.length} bytes x 32), one output element; ${result.machine}, Node ${result.node}, CPU EP; commit ${result.commit}; ${result.date}.`,
    `Graph gradients go through ${result.lowered.join(' and ')}, lowered to standard ops; finite differences run the model as it is. Warm runs alternate, ${ROUNDS} each. This compares onnx-explain with its own earlier path for this model, not with Captum (which needs the PyTorch model).`,
    '',
    '| | graph (lowered LSTMs) | finite differences | ratio |',
    '|---|---|---|---|',
    `| first call (prepares the model) | ${f(first.graph)} | ${f(first.fd)} | ${result.ratioFirst.toFixed(1)}x |`,
    `| warm, median of ${ROUNDS} (min .. max) | ${f(result.warmMedianMs.graph)} (${f(Math.min(...warm.graph))} .. ${f(Math.max(...warm.graph))}) | ${f(result.warmMedianMs.fd)} (${f(Math.min(...warm.fd))} .. ${f(Math.max(...warm.fd))}) | ${result.ratioWarm.toFixed(0)}x |`,
    `| completeness gap (delta) | ${result.delta.graph.toExponential(2)} | ${result.delta.fd.toExponential(2)} | |`,
    '',
    `The two attributions differ by ${result.relL2GraphVsFd.toExponential(2)} in relative L2 (the graph's gradients equal PyTorch autograd's to 1e-4: test/grad/lowered.test.ts). The completeness gap is the same both ways: it is the quadrature's (50 points on a strongly curved path), not the gradients'.`,
    '',
    "Most of the graph's first call is onnxruntime's session set-up for the unrolled gradient graph (about 9,300 nodes at this length): its verbose log puts ~7 s of it in the allocation planner, which grows with the square of the node count (2.5 s in all at 26 bytes). It is paid once per model and input length; every later call is warm.",
    '',
  ].join('\n');
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/lowered-bench.md'), md);
  fs.writeFileSync(path.join(root, 'bench/results/lowered-bench.json'), JSON.stringify(result, null, 1));
  process.stdout.write(md);
  await ways.graph.release();
  await ways.fd.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
