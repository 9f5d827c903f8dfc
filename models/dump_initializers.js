#!/usr/bin/env node
// Writes an ONNX model's initializers as JSON {name: {dims, dtype, base64}} on
// stdout, for the reference scripts (Debian's python3 has torch, not onnx).
// Reads the model with the project's own decoder: node models/dump_initializers.js MODEL.onnx
const fs = require('node:fs');
const { decodeModel, tensorToArray } = require('../packages/core/dist/index.js');

const model = decodeModel(fs.readFileSync(process.argv[2]));
const out = {};
for (const t of model.graph.initializer ?? []) {
  const a = tensorToArray(t);
  if (Array.isArray(a)) continue; // strings
  const f64 = Float64Array.from(a, Number);
  out[t.name] = { dims: (t.dims ?? []).map(Number), base64: Buffer.from(f64.buffer).toString('base64') };
}
process.stdout.write(JSON.stringify(out));
