/**
 * The CLI's values against independent references (models/make_method_refs.py,
 * test/fixtures/methods/method_refs.json), not against the library running
 * the same code: saliency, Grad-CAM and IG from a baseline file against
 * Captum 0.8; SmoothGrad and GradientSHAP against their definitions over
 * Captum / autograd with the CLI's noise stream (seed 1) fed in; and the
 * image preprocessing (bilinear resize, mean, std, NCHW / NHWC / grey)
 * against PIL and torch.nn.functional.interpolate.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, GraphBuilder, encodeModel, encodeNpy, makeModel, parseNpy } from '@onnx-explain/core';
import { repoRoot, tmpDir } from './helpers/ort';
import { relL2 } from './grad/fd';
import { refs } from './methods/refs';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const dir = tmpDir();
const fixtures = path.join(repoRoot, 'test/fixtures/methods');

function attribute(args: string[]): { data: number[]; shape: number[] } {
  const out = path.join(dir, `out${Math.random().toString(36).slice(2)}.npy`);
  const r = spawnSync(process.execPath, [bin, 'attribute', ...args, '--npy', out, '--device', 'cpu', '--quiet'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx-explain failed (${r.status}): ${r.stderr}`);
  const a = parseNpy(fs.readFileSync(out));
  return { data: Array.from(a.data as Float32Array), shape: a.shape };
}

describe('attributions of digit_3, class 3', () => {
  const base = ['models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--target', '3'];
  test.each([
    ['saliency', ['--method', 'saliency']],
    ['smoothgrad', ['--method', 'smoothgrad', '--samples', '5', '--stdev', '0.2']],
    ['gradient-shap', ['--method', 'gradient-shap', '--samples', '7']],
    ['grad-cam', ['--method', 'grad-cam', '--at', '/features/features.3/Relu_output_0']],
  ])('%s', (name, args) => {
    const got = attribute([...base, ...args]);
    const want = refs.cli[name];
    expect(got.shape).toEqual(want.shape);
    expect(relL2(got.data, want.data)).toBeLessThan(5e-6);
  });

  test('ig from a baseline file', () => {
    const file = path.join(dir, 'baseline.npy');
    fs.writeFileSync(file, encodeNpy({ dtype: 'float32', shape: [1, 1, 8, 8], data: new Float32Array(64).fill(0.25) }));
    const got = attribute([...base, '--baseline', file, '--steps', '16']);
    expect(relL2(got.data, refs.cli['ig-baseline'].data)).toBeLessThan(5e-6);
  });
});

describe('image preprocessing', () => {
  const pre = refs.preprocessing as { png: string; size: number[]; mean: number[]; std: number[]; nchw: { shape: number[]; data: number[] }; nhwc: { shape: number[]; data: number[] }; grey: { shape: number[]; data: number[] } };

  /** y = x: input x gradient of sum(y) is x itself, so the attributions are the preprocessed input. */
  function identity(shape: number[]): string {
    const b = new GraphBuilder('identity');
    const x = b.input('x', DataType.FLOAT, shape);
    b.output(b.op('Identity', [x], {}, { output: 'y' }), DataType.FLOAT, shape);
    const file = path.join(dir, `identity_${shape.join('x')}.onnx`);
    fs.writeFileSync(file, encodeModel(makeModel(b.build(), { opset: 13 })));
    return file;
  }
  const png = path.join(fixtures, pre.png);
  const norm = ['--mean', pre.mean.join(','), '--std', pre.std.join(',')];
  const run = (model: string, extra: string[]) => attribute([model, '--input', png, '--method', 'input-x-gradient', '--target', 'sum', '--resize', pre.size.join('x'), ...extra]);

  test('NCHW, resized and normalised', () => {
    const got = run(identity([1, 3, 4, 6]), norm);
    expect(got.shape).toEqual(pre.nchw.shape);
    got.data.forEach((v, i) => expect(v).toBeCloseTo(pre.nchw.data[i], 5));
  });

  test('NHWC (channels last, read from the model input)', () => {
    const got = run(identity([1, 4, 6, 3]), norm);
    expect(got.shape).toEqual(pre.nhwc.shape);
    got.data.forEach((v, i) => expect(v).toBeCloseTo(pre.nhwc.data[i], 5));
  });

  test('one channel: luminance of the resized pixels, in [0, 1]', () => {
    const got = run(identity([1, 1, 4, 6]), []);
    expect(got.shape).toEqual(pre.grey.shape);
    got.data.forEach((v, i) => expect(v).toBeCloseTo(pre.grey.data[i], 5));
  });
});
