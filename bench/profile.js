#!/usr/bin/env node
/**
 * Where the time of one gradient-model run goes: onnxruntime's profiler,
 * summed by op type, forward nodes apart from backward ("grad/") ones.
 *   node bench/profile.js bench/models/resnet18.onnx bench/models/image224.npy [batch] [at]
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ort = require('onnxruntime-node');
const root = path.resolve(__dirname, '..');
const core = require(path.join(root, 'packages/core/dist'));
const node = require(path.join(root, 'packages/node/dist'));

async function main() {
  const [file, input, batchArg, atArg] = process.argv.slice(2);
  const batch = Number(batchArg ?? 50);
  const { model } = await node.loadModelFile(file);
  const arr = node.parseNpy(fs.readFileSync(input));
  const name = core.summarizeModel(model).inputs[0].name;
  const x = { type: arr.dtype, dims: arr.shape, data: arr.data };
  const runtime = new node.OrtNodeRuntime();
  const shapes = await core.probeShapes(runtime, model, { [name]: x });
  const at = atArg === 'embedding' ? core.embeddingOutputs(model)[0] : atArg;
  const gm = core.buildGradientModel(model, { target: { kind: 'class' }, wrt: [at ?? name], shapes });
  const counts = {};
  for (const n of gm.model.graph.node) {
    const k = `${n.name.startsWith('grad/') ? 'bwd' : 'fwd'} ${n.opType}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prof-'));
  const s = await ort.InferenceSession.create(core.encodeModel(gm.model), { enableProfiling: true, profileFilePrefix: path.join(dir, 'p'), graphOptimizationLevel: 'all' });
  const feeds = { [name]: new ort.Tensor(x.type, core.tileBatch(x, batch).data, [batch, ...x.dims.slice(1)]), [gm.targetInput]: new ort.Tensor('int64', new BigInt64Array(batch), [batch]) };
  if (at) {
    const probe = core.cloneModel(model);
    probe.graph.output = [{ name: at }];
    const ps = await ort.InferenceSession.create(core.encodeModel(probe));
    feeds[name] = new ort.Tensor(x.type, core.tileBatch(x, batch).data, [batch, ...x.dims.slice(1)]);
    await ps.release();
  }
  // the first runs touch fresh memory (page faults, arena growth): only the last one is counted
  for (let i = 0; i < 3; i++) await s.run(feeds);
  s.endProfiling();
  await s.release();
  const prof = JSON.parse(fs.readFileSync(path.join(dir, fs.readdirSync(dir)[0]), 'utf8'));
  const byOp = {};
  let total = 0;
  const lastRun = Math.max(...prof.filter((e) => e.name === 'model_run').map((e) => e.ts));
  const runs = prof.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= lastRun);
  for (const e of runs) {
    const nodeName = e.name.replace(/_kernel_time$/, '');
    const k = `${nodeName.startsWith('grad/') ? 'bwd' : 'fwd'} ${e.args.op_name}`;
    byOp[k] = (byOp[k] ?? 0) + e.dur;
    total += e.dur;
  }
  const rows = Object.entries(byOp).sort((a, b) => b[1] - a[1]);
  console.log(`one run at batch ${batch}: ${(total / 1000).toFixed(1)} ms in kernels`);
  if (process.env.PROFILE_NODES) {
    const byNode = {};
    for (const e of runs) byNode[e.name] = (byNode[e.name] ?? 0) + e.dur;
    for (const [k, us] of Object.entries(byNode).sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_NODES))) console.log(`${(us / 1000).toFixed(1).padStart(9)} ms  ${k}`);
  }
  for (const [k, us] of rows.slice(0, 25)) console.log(`${k.padEnd(40)} ${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%   nodes in graph: ${counts[k] ?? '(fused)'}`);
}
main();
