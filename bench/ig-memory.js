#!/usr/bin/env node
/**
 * Peak memory of Integrated Gradients against steps and internalBatchSize.
 * Each configuration runs in a fresh process (peak RSS is per process).
 *   node bench/ig-memory.js            (after pnpm build; pnpm bench runs it)
 * Writes bench/results/ig-memory.md and .json.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/**
 * A CNN with activations large enough for memory to show: two 3x3
 * convolutions with 32 channels at 64x64, global average pooling, a linear
 * layer; random weights (the bench measures cost, not accuracy).
 */
function wideCnn(core) {
  let seed = 7;
  const rnd = (n, scale) => Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return ((seed / 4294967296) * 2 - 1) * scale;
  });
  const b = new core.GraphBuilder('wide_cnn');
  const x = b.input('image', core.DataType.FLOAT, ['N', 3, 64, 64]);
  let h = b.op('Relu', [b.op('Conv', [x, b.constant(rnd(32 * 3 * 9, 0.3), [32, 3, 3, 3])], { pads: [1, 1, 1, 1] })]);
  h = b.op('Relu', [b.op('Conv', [h, b.constant(rnd(32 * 32 * 9, 0.1), [32, 32, 3, 3])], { pads: [1, 1, 1, 1] })]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [h])]);
  b.output(b.op('Gemm', [pooled, b.constant(rnd(320, 0.5), [10, 32]), b.constant(rnd(10, 0.1), [10])], { transB: 1 }, { output: 'logits' }), core.DataType.FLOAT, ['N', 10]);
  return core.makeModel(b.build(), { opset: 13 });
}

async function child(model, sampleFile, steps, batchSize) {
  const core = require(path.join(root, 'packages/core/dist'));
  const node = require(path.join(root, 'packages/node/dist'));
  const m = wideCnn(core);
  const ex = new core.Explainer(new node.OrtNodeRuntime(), m);
  const x = { image: { type: 'float32', dims: [1, 3, 64, 64], data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.01)) } };
  // warm up: sessions are made once per explainer
  await core.integratedGradients(ex, x, { steps: 2, internalBatchSize: batchSize });
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  await core.integratedGradients(ex, x, { steps, internalBatchSize: batchSize });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ steps, batchSize, ms, peakMiB: peak / 2 ** 20, baseMiB: before / 2 ** 20 }));
}

function main() {
  const model = 'a 2-layer CNN, 32 channels at 64x64 (built by the bench)';
  const sample = '-';
  const rows = [];
  for (const batchSize of [1, 8, 32, 64]) {
    for (const steps of [25, 50, 100, 200]) {
      const out = execFileSync(process.execPath, [__filename, 'child', model, sample, String(steps), String(batchSize)], { encoding: 'utf8' });
      rows.push(JSON.parse(out));
    }
  }
  const lines = [
    `Peak RSS of one process explaining ${model} with IG (gausslegendre), by internalBatchSize and steps, onnxruntime-node CPU.`,
    `Machine: ${require('node:os').cpus()[0].model}, ${require('node:os').cpus().length} cores, Node ${process.version}.`,
    '',
    '| internalBatchSize | steps | peak RSS (MiB) | time (ms) |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.batchSize} | ${r.steps} | ${r.peakMiB.toFixed(1)} | ${r.ms.toFixed(1)} |`),
  ];
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results/ig-memory.md'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(__dirname, 'results/ig-memory.json'), JSON.stringify(rows, null, 1) + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[2] === 'child') {
  child(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6])).catch((e) => {
    process.stderr.write(String(e.stack || e) + '\n');
    process.exit(1);
  });
} else {
  main();
}
