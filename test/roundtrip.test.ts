/**
 * Lossless model IO: decoding then encoding keeps every field (checked on the
 * wire by an independent reader, test/helpers/wire.ts), and the re-encoded
 * model computes exactly what the original computes in onnxruntime-node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, cloneModel } from '@onnx-explain/core';
import { loadModelFile } from '@onnx-explain/node';
import { canonicalModel } from './helpers/wire';
import { runOrt, tmpDir, repoRoot } from './helpers/ort';
import { controlFlowModel, functionModel, linearModel, externalize } from './helpers/edgeModels';

const modelsDir = path.join(repoRoot, 'models');
const manifest = JSON.parse(fs.readFileSync(path.join(modelsDir, 'models.json'), 'utf8'));

function expectLossless(original: Uint8Array): Uint8Array {
  const again = encodeModel(decodeModel(original));
  const a = canonicalModel(original);
  const b = canonicalModel(again);
  expect(a.unknown).toEqual([]); // the schema knows every field the model has
  expect(b.tree).toEqual(a.tree);
  return again;
}

function npyTensor(file: string): ort.Tensor {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString('latin1');
  const shape = /\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = buf.subarray(10 + headerLen);
  const copy = new Uint8Array(body).buffer;
  if (header.includes("'<i8'")) return new ort.Tensor('int64', new BigInt64Array(copy), shape);
  return new ort.Tensor('float32', new Float32Array(copy), shape);
}

describe('shipped models', () => {
  for (const [name, info] of Object.entries<any>(manifest)) {
    test(`${name} round-trips losslessly and runs identically`, async () => {
      const original = new Uint8Array(fs.readFileSync(path.join(modelsDir, info.file)));
      const again = expectLossless(original);
      const samples = Object.values<any>(info.samples);
      expect(samples.length).toBeGreaterThan(0);
      for (const sample of samples) {
        // a sample is one .npy for the first input, or named inputs as JSON tensors (the text models)
        const feeds: Record<string, ort.Tensor> = sample.inputs
          ? Object.fromEntries(
              Object.entries<any>(sample.inputs).map(([k, v]) => [k, v.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(v.data.map(BigInt)), v.shape) : new ort.Tensor('float32', Float32Array.from(v.data), v.shape)]),
            )
          : { [decodeModel(original).graph!.input![0].name!]: npyTensor(path.join(modelsDir, sample.input)) };
        const a = await runOrt(original, feeds);
        const b = await runOrt(again, feeds);
        expect(b).toEqual(a);
        // and the model computes what PyTorch computed when it was exported
        const out = Object.values(a)[0];
        expect(out.dims).toEqual(sample.output_shape);
        out.data.forEach((v, i) => expect(v).toBeCloseTo(sample.torch_output[i], 4));
      }
    });
  }
});

describe('hand-built edge cases', () => {
  test('If and Loop with nested subgraphs reading outer-scope tensors', async () => {
    const bytes = encodeModel(controlFlowModel());
    const again = expectLossless(bytes);
    const x = new ort.Tensor('float32', Float32Array.from([1, -2, 3, 0.5, 4, -1]), [2, 3]);
    for (const c of [true, false]) {
      const cond = new ort.Tensor('bool', new Uint8Array([c ? 1 : 0]), []);
      const a = await runOrt(bytes, { x, cond });
      expect(await runOrt(again, { x, cond })).toEqual(a);
      // closed form: y = branch(x) + 3 * 0.5 * x
      const model = controlFlowModel();
      const [c1, c2] = model.graph!.initializer!.slice(0, 2).map((t) => new Float32Array(new Uint8Array(t.rawData!).buffer));
      const xs = x.data as Float32Array;
      const want = Array.from(xs, (v, i) => Math.fround(Math.fround(c ? v + c1[i] : v * c2[i]) + 1.5 * v));
      a.y.data.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    }
  });

  test('IR 10 model with a local function, metadata and a sparse initializer', async () => {
    const bytes = encodeModel(functionModel());
    const again = expectLossless(bytes);
    const decoded = decodeModel(again);
    expect(Number(decoded.irVersion)).toBe(10);
    expect(decoded.functions![0].attributeProto![0].name).toBe('alpha');
    expect(decoded.functions![0].valueInfo![0].name).toBe('ft');
    expect(decoded.graph!.node![0].metadataProps![0].value).toBe('calls a local function');
    expect(decoded.graph!.sparseInitializer![0].dims!.map(Number)).toEqual([2, 3]);
    const xs = Float32Array.from([0.1, -0.4, 0.9, 2, -3, 0]);
    const x = new ort.Tensor('float32', xs, [2, 3]);
    const a = await runOrt(bytes, { x });
    expect(await runOrt(again, { x })).toEqual(a);
    const dense = [0, 1.5, 0, 0, 0, -2];
    a.y.data.forEach((v, i) => expect(v).toBeCloseTo(2.5 * Math.tanh(xs[i]) + dense[i], 5));
  });

  test('external data: loads from a path, and round-trips as references beside the side file', async () => {
    const dir = tmpDir();
    const inline = encodeModel(linearModel());
    const model = linearModel();
    const side = externalize(model, 'weights/linear.bin');
    fs.mkdirSync(path.join(dir, 'weights'));
    fs.writeFileSync(path.join(dir, 'weights/linear.bin'), side);
    const file = path.join(dir, 'linear.onnx');
    const external = encodeModel(model);
    fs.writeFileSync(file, external);
    const before = fs.readFileSync(file);

    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, -1, 0, 0.5]), [2, 3]);
    const want = await runOrt(inline, { x });
    expect(await runOrt(file, { x })).toEqual(want); // onnxruntime itself reads the side file

    // loaded from its path, external data inlined: self-contained bytes
    const loaded = await loadModelFile(file);
    expect(loaded.externalTensors).toBe(2);
    expect(await runOrt(encodeModel(loaded.model), { x })).toEqual(want);

    // decoded without loading data: references survive, written back beside the side file
    const refs = await loadModelFile(file, { loadExternalData: false });
    const again = expectLossless(external);
    expect(encodeModel(refs.model)).toEqual(again);
    const copy = path.join(dir, 'copy.onnx');
    fs.writeFileSync(copy, again);
    expect(await runOrt(copy, { x })).toEqual(want);

    expect(fs.readFileSync(file)).toEqual(before); // the user's file is untouched
  });

  test('cloneModel gives a copy whose edits do not reach the original', () => {
    const model = functionModel();
    const bytes = encodeModel(model);
    const copy = cloneModel(model);
    copy.graph!.node!.push({ opType: 'Identity', input: ['y'], output: ['z'] });
    copy.graph!.node![0].attribute![0].f = 9;
    copy.metadataProps![0].value = 'changed';
    expect(encodeModel(model)).toEqual(bytes);
    expect(encodeModel(copy)).not.toEqual(bytes);
  });
});
