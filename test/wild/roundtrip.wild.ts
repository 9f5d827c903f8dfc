/**
 * Decode -> encode on models nobody here made: every top-level model in the
 * wild folder is checked on the wire (no field lost or unknown) and run in
 * onnxruntime-node before and after (outputs must be identical); every ONNX
 * backend node-test model is checked on the wire. Prints a table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, summarizeModel } from '@onnx-explain/core';
import { canonicalModel } from '../helpers/wire';
import { repoRoot } from '../helpers/ort';

const wildDir = process.env.WILD_DIR ?? path.resolve(repoRoot, '../shared/wild');

const ORT_TYPES: Record<string, ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', bool: 'bool',
};

function syntheticFeeds(bytes: Uint8Array): Record<string, ort.Tensor> | string {
  const s = summarizeModel(decodeModel(bytes));
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of s.inputs) {
    const type = ORT_TYPES[i.type];
    if (!type || !i.shape) return `input '${i.name}' is ${i.type} ${i.shape ? '' : 'of unknown rank'}`;
    const dims = i.shape.map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    let data: ort.Tensor.DataType;
    if (type === 'int64') data = new BigInt64Array(n);
    else if (type === 'float32') data = Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37));
    else if (type === 'float64') data = Float64Array.from({ length: n }, (_, k) => Math.sin(k * 0.37));
    else if (type === 'int32') data = new Int32Array(n);
    else if (type === 'int8') data = new Int8Array(n);
    else data = new Uint8Array(n);
    feeds[i.name] = new ort.Tensor(type, data as never, dims);
  }
  return feeds;
}

async function outputs(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: Array.from(v.data as Float32Array, String) }]));
  } finally {
    await session.release();
  }
}

const haveWild = fs.existsSync(wildDir);
(haveWild ? describe : describe.skip)(`wild models in ${wildDir}`, () => {
  const rows: string[] = [];
  afterAll(() => {
    process.stderr.write(['', '| model | IR | lossless on the wire | onnxruntime before = after |', '| --- | --- | --- | --- |', ...rows, ''].join('\n'));
  });

  const files = haveWild ? fs.readdirSync(wildDir).filter((f) => f.endsWith('.onnx')).sort() : [];
  for (const file of files) {
    test(file, async () => {
      const original = new Uint8Array(fs.readFileSync(path.join(wildDir, file)));
      const again = encodeModel(decodeModel(original));
      const a = canonicalModel(original);
      const lossless = a.unknown.length === 0 && JSON.stringify(canonicalModel(again).tree) === JSON.stringify(a.tree);
      let ran = '';
      const feeds = syntheticFeeds(original);
      if (typeof feeds === 'string') {
        ran = `not run: ${feeds}`;
      } else {
        try {
          const before = await outputs(original, feeds);
          const after = await outputs(again, feeds);
          ran = JSON.stringify(before) === JSON.stringify(after) ? 'identical' : 'DIFFERENT';
        } catch (e) {
          ran = `onnxruntime refused the original too? ${(e as Error).message.split('\n')[0].slice(0, 120)}`;
          // the re-encoded model must fail the same way
          await expect(outputs(again, feeds)).rejects.toThrow();
        }
      }
      rows.push(`| ${file} | ${Number(decodeModel(original).irVersion)} | ${lossless ? 'yes' : `NO ${a.unknown.join(' ')}`} | ${ran} |`);
      expect(a.unknown).toEqual([]);
      expect(lossless).toBe(true);
      expect(ran).not.toBe('DIFFERENT');
    });
  }

  test('every ONNX backend node-test model round-trips on the wire', () => {
    const dir = path.join(wildDir, 'onnx-node-tests');
    const failures: string[] = [];
    let count = 0;
    for (const t of fs.readdirSync(dir).sort()) {
      const f = path.join(dir, t, 'model.onnx');
      if (!fs.existsSync(f)) continue;
      const original = new Uint8Array(fs.readFileSync(f));
      const again = encodeModel(decodeModel(original, f));
      const a = canonicalModel(original);
      if (a.unknown.length || JSON.stringify(canonicalModel(again).tree) !== JSON.stringify(a.tree)) {
        failures.push(`${t}: ${a.unknown.join(' ') || 'differs'}`);
      }
      count++;
    }
    rows.push(`| onnx-node-tests (${count} models) | various | ${failures.length ? `${failures.length} NOT lossless` : 'all yes'} | not run here |`);
    expect(failures).toEqual([]);
    expect(count).toBeGreaterThan(1000);
  });
});
