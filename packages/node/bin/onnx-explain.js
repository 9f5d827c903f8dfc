#!/usr/bin/env node
'use strict';
// Thin launcher: the compiled CLI lives in dist/ (built by `pnpm install` or `pnpm build`).
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`onnx-explain: ${e.message}\n`);
  process.exit(1);
});
