/**
 * The gradient models this library writes give the same numbers on
 * onnxruntime-web's WebGPU and WebAssembly EPs as on onnxruntime-node, in
 * Debian's Chromium (software WebGPU adapter here: correctness, never
 * timing). mnist-8 (a third-party export, test/fixtures/web/PROVENANCE.md)
 * has a 3x3 MaxPool whose gradient once took a nine-input Concat: WebGPU's
 * kernel binds each input as a storage buffer, the pipeline was invalid
 * past 8 and the gradients came back wrong without an error. A second model
 * has a tensor with nine consumers, whose gradients are summed. Skipped,
 * saying so, without Chromium or a WebGPU adapter.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildGradientModel, probeShapes, makeBatchable, encodeModel, decodeModel, GraphBuilder, DataType, makeModel, type ModelProto, type Tensor } from '@onnx-explain/core';
import { OrtNodeRuntime } from '@onnx-explain/node';
import { repoRoot } from '../helpers/ort';
import { CHROMIUM, launchChromium } from '../helpers/preview';
import { relL2 } from '../grad/fd';

const have = fs.existsSync(CHROMIUM);
if (!have) process.stderr.write(`EP agreement tests skipped: ${CHROMIUM} is not installed (apt-get install chromium)\n`);
const maybe = have ? test : test.skip;
const runtime = new OrtNodeRuntime();

interface Case {
  name: string;
  bytes: Uint8Array;
  feeds: Record<string, Tensor>;
  outputs: string[];
}

async function gradientCase(name: string, model: ModelProto, input: string, x: Tensor, cls: number): Promise<Case> {
  const b = await makeBatchable(runtime, model, { [input]: x });
  const shapes = await probeShapes(runtime, b.model, { [input]: x }, b.batchable ? [input] : []);
  const gm = buildGradientModel(b.model, { target: { kind: 'class' }, wrt: [input], shapes });
  return {
    name,
    bytes: encodeModel(gm.model),
    feeds: { [input]: x, [gm.targetInput!]: { type: 'int64', dims: [1], data: BigInt64Array.from([BigInt(cls)]) } },
    outputs: [gm.gradients[input], gm.selected],
  };
}

/** x [N, 9] -> nine branches of x (each a different scaling) summed into logits [N, 2]: x's gradient is a Sum of nine. */
function nineConsumers(): ModelProto {
  const g = new GraphBuilder('nine');
  const x = g.input('x', DataType.FLOAT, ['N', 9]);
  const branches = Array.from({ length: 9 }, (_, k) => g.op('Mul', [x, g.constant(Float32Array.from({ length: 9 }, (_, i) => ((i + k) % 5) - 2), [9])]));
  const total = branches.reduce((a, bb) => g.op('Add', [a, bb]));
  g.output(g.op('MatMul', [g.op('Tanh', [total]), g.constant(Float32Array.from({ length: 18 }, (_, i) => Math.sin(i)), [9, 2])], {}, { output: 'logits' }), DataType.FLOAT, ['N', 2]);
  return makeModel(g.build(), { opset: 13 });
}

maybe('gradients agree across WebGPU, WebAssembly and onnxruntime-node, and no emitted Concat or Sum has more than 7 inputs', async () => {
  const mnist = decodeModel(fs.readFileSync(path.join(repoRoot, 'test/fixtures/web/mnist-8.onnx')));
  const digit: Tensor = { type: 'float32', dims: [1, 1, 28, 28], data: Float32Array.from({ length: 784 }, (_, i) => Math.max(0, Math.sin(i * 0.21) * Math.cos(i * 0.013)) * 255) };
  const cases = [
    await gradientCase('mnist-8', mnist, 'Input3', digit, 3),
    await gradientCase('nine consumers', nineConsumers(), 'x', { type: 'float32', dims: [1, 9], data: Float32Array.from({ length: 9 }, (_, i) => 0.3 * i - 1) }, 1),
  ];
  for (const c of cases) {
    const nodes = decodeModel(c.bytes).graph!.node!;
    const widest = Math.max(...nodes.filter((n) => n.opType === 'Concat' || n.opType === 'Sum').map((n) => n.input!.length));
    expect([c.name, widest <= 7]).toEqual([c.name, true]);
  }
  // the oracle: onnxruntime-node's CPU EP on the same gradient models
  const want: Record<string, Record<string, number[]>> = {};
  for (const c of cases) {
    const s = await runtime.createSession(c.bytes);
    const out = await s.run(c.feeds);
    await s.release();
    want[c.name] = Object.fromEntries(c.outputs.map((o) => [o, Array.from(out[o].data as Float32Array)]));
  }

  const dist = path.join(repoRoot, 'packages/web/node_modules/onnxruntime-web/dist');
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    const k = /^\/case(\d+)\.onnx$/.exec(p);
    if (p === '/') return res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end('<!doctype html><title>EP agreement</title>');
    if (k) return res.writeHead(200, headers).end(Buffer.from(cases[Number(k[1])].bytes));
    const f = path.join(dist, path.basename(p));
    if (fs.existsSync(f)) return res.writeHead(200, { ...headers, 'content-type': f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }).end(fs.readFileSync(f));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const adapter = await page.evaluate(async () => !!(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    const eps = adapter ? ['wasm', 'webgpu'] : ['wasm'];
    if (!adapter) process.stderr.write('no WebGPU adapter in this Chromium: the EP agreement test ran WebAssembly only\n');
    const plain = cases.map((c) => ({
      outputs: c.outputs,
      feeds: Object.entries(c.feeds).map(([k, v]) => ({ k, type: v.type, dims: v.dims, data: Array.from(v.data as ArrayLike<number | bigint>, Number) })),
    }));
    const got = await page.evaluate(
      async ({ plain, eps }) => {
        // a dynamic import written so the test's CommonJS compilation leaves it alone (the function runs in the page)
        const ort = await new Function('u', 'return import(u)')('/ort.all.bundle.min.mjs');
        ort.env.wasm.wasmPaths = '/';
        const results: Record<string, Record<string, Record<string, number[]>>> = {};
        for (const ep of eps) {
          results[ep] = {};
          for (let i = 0; i < plain.length; i++) {
            const bytes = new Uint8Array(await (await fetch(`/case${i}.onnx`)).arrayBuffer());
            const s = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
            const feeds: Record<string, unknown> = {};
            for (const f of plain[i].feeds) feeds[f.k] = new ort.Tensor(f.type, f.type === 'int64' ? BigInt64Array.from(f.data.map((v: number) => BigInt(v))) : Float32Array.from(f.data), f.dims);
            const out = await s.run(feeds);
            results[ep][i] = Object.fromEntries(await Promise.all(plain[i].outputs.map(async (o: string) => [o, Array.from(await out[o].getData())])));
            await s.release();
          }
        }
        return results;
      },
      { plain, eps },
    );
    for (const ep of eps) {
      cases.forEach((c, i) => {
        for (const o of c.outputs) expect([ep, c.name, o, relL2(got[ep][i][o], want[c.name][o]) < 1e-4]).toEqual([ep, c.name, o, true]);
      });
    }
  } finally {
    await browser.close();
    server.close();
  }
}, 300000);
