/**
 * Core must run in pages whose Content-Security-Policy forbids eval (the
 * dashboard's does). A Node process started with
 * --disallow-code-generation-from-strings (eval and new Function throw) loads
 * core's build, decodes each shipped model, re-encodes it byte for byte, and
 * encodes a model with every kind of field the codec writes.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './helpers/ort';

test('core decodes and encodes models with code generation from strings disabled', () => {
  const script = `
    const fs = require('fs');
    const core = require(${JSON.stringify(path.join(repoRoot, 'packages/core/dist/index.js'))});
    let thrown = false;
    try { new Function('return 1'); } catch { thrown = true; }
    if (!thrown) throw new Error('code generation was not disabled');
    for (const f of ['digits_cnn', 'tabular_mlp', 'text_classifier']) {
      const bytes = fs.readFileSync(${JSON.stringify(path.join(repoRoot, 'models'))} + '/' + f + '.onnx');
      const again = Buffer.from(core.encodeModel(core.decodeModel(bytes)));
      if (!again.equals(bytes)) throw new Error(f + ': the round trip changed the bytes');
      console.log(f, bytes.length);
    }
  `;
  const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['digits_cnn', 'tabular_mlp', 'text_classifier']);
  expect(r.status).toBe(0);
});
