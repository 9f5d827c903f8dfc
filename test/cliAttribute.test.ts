/**
 * `onnx-explain attribute` as a subprocess, on the shipped models: every
 * method, every input format; the JSON it writes is compared with the
 * library's result for the same call, and IG's completeness delta is checked.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { NodeExplainer, readInputFile, parseNpy, type ExplainOptions } from '@onnx-explain/node';
import { parseNpy as parseNpyCore, type Tensor } from '@onnx-explain/core';

/** A .npy file as a core Tensor. */
const readInputFileSync = (file: string): Tensor => {
  const a = parseNpyCore(new Uint8Array(fs.readFileSync(file)), file);
  return { type: a.dtype as Tensor['type'], dims: a.shape, data: a.data };
};
import { repoRoot, tmpDir } from './helpers/ort';
import { stumpRegressor } from './helpers/trees';
import { relL2 } from './grad/fd';
import { encodeNpy } from '@onnx-explain/core';
import { nvidiaDriverPresent } from '@onnx-explain/node';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const EMB = '/embedding/Gather_output_0';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function library(model: string, inputFile: string, opts: ExplainOptions) {
  const ex = await NodeExplainer.load(path.join(repoRoot, model), { device: 'cpu' });
  try {
    const x = await readInputFile(path.join(repoRoot, inputFile));
    return await ex.explain({ [ex.summary.inputs[0].name]: x }, opts);
  } finally {
    await ex.release();
  }
}

const dir = tmpDir();

describe.each([
  ['ig', 'models/digits_cnn.onnx', 'models/samples/digit_7.npy', [], { method: 'ig' }],
  ['ig riemann_trapezoid 20 steps, class 2', 'models/digits_cnn.onnx', 'models/samples/digit_7.json', ['--integration', 'riemann_trapezoid', '--steps', '20', '--target', '2'], { method: 'ig', integration: 'riemann_trapezoid', steps: 20, target: 2 }],
  ['ig --steps auto --tolerance 0.003', 'models/digits_cnn.onnx', 'models/samples/digit_7.npy', ['--steps', 'auto', '--tolerance', '0.003'], { method: 'ig', steps: 'auto', tolerance: 0.003 }],
  ['saliency', 'models/tabular_mlp.onnx', 'models/samples/patient_1.npy', ['--method', 'saliency'], { method: 'saliency' }],
  ['input-x-gradient', 'models/tabular_mlp.onnx', 'models/samples/patient_1.json', ['--method', 'input-x-gradient', '--target', '0'], { method: 'input-x-gradient', target: 0 }],
  ['smoothgrad', 'models/digits_cnn.onnx', 'models/samples/digit_0.npy', ['--method', 'smoothgrad', '--samples', '4', '--stdev', '0.1'], { method: 'smoothgrad', samples: 4, stdev: 0.1 }],
  ['gradient-shap', 'models/digits_cnn.onnx', 'models/samples/digit_0.npy', ['--method', 'gradient-shap', '--samples', '6'], { method: 'gradient-shap', samples: 6 }],
  ['grad-cam', 'models/digits_cnn.onnx', 'models/samples/digit_3.npy', ['--method', 'grad-cam', '--at', '/features/features.3/Relu_output_0'], { method: 'grad-cam', layer: '/features/features.3/Relu_output_0' }],
  ['layer ig on the text model, fd', 'models/text_classifier.onnx', 'models/samples/review_positive.npy', ['--at', EMB, '--gradients', 'fd', '--steps', '10'], { method: 'ig', at: EMB, gradients: 'fd', steps: 10 }],
  ['guided-backprop', 'models/digits_cnn.onnx', 'models/samples/digit_3.npy', ['--method', 'guided-backprop'], { method: 'guided-backprop' }],
  ['guided-grad-cam', 'models/digits_cnn.onnx', 'models/samples/digit_7.npy', ['--method', 'guided-grad-cam', '--at', '/features/features.3/Relu_output_0'], { method: 'guided-grad-cam', layer: '/features/features.3/Relu_output_0' }],
  ['lrp with rules per layer', 'models/digits_cnn.onnx', 'models/samples/digit_0.npy', ['--method', 'lrp', '--lrp-rule', 'Conv=gamma:0.5', '--lrp-rule', '/classifier/Gemm=epsilon:0.001'], { method: 'lrp', layerRules: { Conv: { rule: 'gamma', gamma: 0.5 }, '/classifier/Gemm': { rule: 'epsilon', epsilon: 0.001 } } }],
  ['deeplift from a constant baseline', 'models/tabular_mlp.onnx', 'models/samples/patient_0.npy', ['--method', 'deeplift', '--baseline', '10'], { method: 'deeplift', baselines: 10 }],
  ['occlusion 3x3 stride 2, baseline 0.5', 'models/digits_cnn.onnx', 'models/samples/digit_7.npy', ['--method', 'occlusion', '--window', '3,3', '--stride', '2', '--baseline', '0.5'], { method: 'occlusion', window: [3, 3], strides: 2, baselines: 0.5 }],
  ['feature-ablation over a grid', 'models/digits_cnn.onnx', 'models/samples/digit_3.npy', ['--method', 'feature-ablation', '--feature-mask', 'grid:4x2'], { method: 'feature-ablation', featureMask: 'grid:4x2' }],
  ['shapley-sampling, seeded', 'models/tabular_mlp.onnx', 'models/samples/patient_0.npy', ['--method', 'shapley-sampling', '--samples', '6', '--seed', '9'], { method: 'shapley-sampling', samples: 6, seed: 9 }],
  ['kernel-shap over superpixels', 'models/digits_cnn.onnx', 'models/samples/digit_0.npy', ['--method', 'kernel-shap', '--feature-mask', 'slic:8'], { method: 'kernel-shap', featureMask: 'slic:8' }],
  ['lime with ridge and kernel width', 'models/tabular_mlp.onnx', 'models/samples/patient_1.json', ['--method', 'lime', '--samples', '300', '--ridge', '0.5', '--kernel-width', '0.5', '--seed', '3'], { method: 'lime', samples: 300, ridge: 0.5, kernelWidth: 0.5, seed: 3 }],
] as const)('%s', (name, model, input, args, opts) => {
  test('the JSON equals the library result', async () => {
    const json = path.join(dir, `${name.replace(/\W+/g, '_')}.json`);
    const r = cli('attribute', model, '--input', input, '--device', 'cpu', '--json', json, ...args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const got = JSON.parse(fs.readFileSync(json, 'utf8'));
    const want = await library(model, input, opts as ExplainOptions);
    const key = Object.keys(want.attributions)[0];
    expect(got.attributed).toBe(key);
    expect(got.attributions.shape).toEqual(want.attributions[key].dims);
    expect(relL2(got.attributions.data, want.attributions[key].data as Float32Array)).toBeLessThan(1e-6);
    expect(got.method).toBe(want.method);
    expect(got.classes).toEqual(want.classes);
    expect(got.gradientSource).toBe(want.gradientSource);
    expect(r.out).toMatch(new RegExp(`target     class ${want.classes![0]} `));
    if (want.gradientSource === 'none') {
      expect(got.evaluations).toBe(want.evaluations);
      expect(r.out).toContain(`no gradients: the model ran ${want.evaluations} times`);
      expect(got.featureAttributions).toEqual(want.featureAttributions);
      if (want.r2) expect(r.out).toContain(`surrogate  R^2 ${want.r2[0].toFixed(4)}`);
      if (want.exact) expect(r.out).toContain(`coalitions ${want.coalitions![0]} (all: exact Shapley values)`);
    }
    if (opts.method === 'ig') {
      expect(got.steps).toBe(want.steps);
      expect(got.integration).toBe(want.integration);
      // completeness, as reported
      got.delta.forEach((d: number, i: number) => expect(d).toBeCloseTo(got.sum[i] - (got.output[i] - got.baselineOutput[i]), 6));
      if (got.steps === 50) expect(Math.abs(got.delta[0])).toBeLessThan(0.02 * Math.abs(got.output[0] - got.baselineOutput[0]));
      if (opts.steps === 'auto') {
        expect(got.integration).toBe('romberg');
        expect(got.adaptive).toEqual(want.adaptive);
        expect(got.adaptive.converged).toEqual([true]);
        expect(got.steps).toBe(got.adaptive.stepsPerExample[0]);
        expect(Math.abs(got.delta[0])).toBeLessThanOrEqual(0.003 * Math.abs(got.output[0] - got.baselineOutput[0]));
        expect(r.out).toContain(`method     integrated-gradients, ${got.steps} steps (auto, romberg, tolerance 0.003)`);
      }
    }
  });
});

describe('input formats', () => {
  const digit = parseNpy(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.npy')));
  const grey = Array.from(digit.data as Float32Array, (v) => Math.round(v * 255));

  test('a PNG image is read, fitted to the model input, and gives the .npy result; --npy and --heatmap are written', async () => {
    const png = new PNG({ width: 8, height: 8 });
    grey.forEach((g, i) => png.data.set([g, g, g, 255], i * 4));
    const file = path.join(dir, 'three.png');
    fs.writeFileSync(file, PNG.sync.write(png));
    const [a, b] = [path.join(dir, 'png.json'), path.join(dir, 'npy.json')];
    const npyOut = path.join(dir, 'attr.npy');
    const heat = path.join(dir, 'heat.png');
    expect(cli('attribute', 'models/digits_cnn.onnx', '--input', file, '--json', a, '--npy', npyOut, '--heatmap', heat, '--device', 'cpu').code).toBe(0);
    expect(cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--json', b, '--device', 'cpu').code).toBe(0);
    const [ja, jb] = [a, b].map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
    expect(relL2(ja.attributions.data, jb.attributions.data)).toBeLessThan(1e-2); // 8-bit pixels
    const saved = parseNpy(fs.readFileSync(npyOut));
    expect(saved.shape).toEqual([1, 1, 8, 8]);
    expect(relL2(saved.data as Float32Array, ja.attributions.data)).toBeLessThan(1e-7);
    const img = PNG.sync.read(fs.readFileSync(heat));
    expect(img.width).toBeGreaterThan(256);
    expect(img.height).toBeGreaterThanOrEqual(256);
  });

  test.each([
    [['--scale', '0'], /^onnx-explain: --scale must be a positive number, got '0'\n$/],
    [['--std', '0'], /^onnx-explain: --std divides, so every value must be positive, got '0'\n$/],
    [['--std', '0.2,'], /^onnx-explain: --std '0\.2,' is not a list of numbers\n$/],
    [['--resize', '224'], /^onnx-explain: --resize takes HxW, two positive whole numbers \(e\.g\. 224x224\), got '224'\n$/],
    [['--resize', '0x8'], /^onnx-explain: --resize takes HxW/],
  ])('image options out of range are refused before any work: %j', (args, message) => {
    const png = new PNG({ width: 8, height: 8 });
    grey.forEach((g, i) => png.data.set([g, g, g, 255], i * 4));
    const file = path.join(dir, 'three_opts.png');
    fs.writeFileSync(file, PNG.sync.write(png));
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', file, '--quiet', ...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
  });

  test('more unnamed --input files than the model has inputs is named as such', () => {
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--input', 'models/samples/digit_3.npy', '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toBe('onnx-explain: 2 --input files for a model with 1 input (image); name each one: --input NAME=FILE\n');
  });

  test('a JPEG is resized, and mean/std preprocessing is applied', () => {
    const raw = Buffer.alloc(16 * 16 * 4);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) raw.set([grey[(y >> 1) * 8 + (x >> 1)], grey[(y >> 1) * 8 + (x >> 1)], grey[(y >> 1) * 8 + (x >> 1)], 255], (y * 16 + x) * 4);
    const file = path.join(dir, 'three.jpg');
    fs.writeFileSync(file, jpeg.encode({ data: raw, width: 16, height: 16 }, 95).data);
    const out = path.join(dir, 'jpg.json');
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', file, '--json', out, '--device', 'cpu', '--mean', '0.1', '--std', '0.9');
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).attributions.shape).toEqual([1, 1, 8, 8]);
  });
});

describe('bad input: one clear line, non-zero exit', () => {
  test.each([
    [['attribute', 'models/nope.onnx', '--input', 'models/samples/digit_3.npy'], /^onnx-explain: model file 'models\/nope\.onnx' does not exist\n$/],
    [['attribute', 'package.json', '--input', 'models/samples/digit_3.npy'], /^onnx-explain: 'package\.json' is not an ONNX model/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/missing.npy'], /^onnx-explain: input file 'models\/samples\/missing\.npy' does not exist\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/patient_0.npy'], /^onnx-explain: input 'image' expects shape \[batch, 1, 8, 8\], got \[1, 30\]\n$/],
    [['attribute', 'models/text_classifier.onnx', '--input', 'models/samples/digit_3.npy'], /^onnx-explain: input 'token_ids' expects type int64, got float32/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--target', '12'], /^onnx-explain: target 12 is out of range: output 'logits' of shape \[N, 10\] has 10 classes \(0 to 9\)\n$/],
    // an index that does not fit the output is the user's mistake: refused up front, never a finite-difference fallback to NaN
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--target', '3,4'], /^onnx-explain: target index \[3, 4\] does not index output 'logits' of shape \[N, 10\]: it takes 1 value, one per non-batch axis, each below \[10\]\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--target', '10,0', '--gradients', 'fd'], /^onnx-explain: target index \[10, 0\] does not index output 'logits'/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--gradients', 'fd', '--max-evaluations', '1000'], /^onnx-explain: finite differences would take 19,250 model evaluations \(64 attributed elements, 6 per element and row, 50 rows\), over the limit of 1,000; they are used because finite differences were asked for\. .*--max-evaluations\)\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--at', 'no_such_tensor'], /^onnx-explain: unknown tensor 'no_such_tensor' for layer attribution/],
    [['attribute', 'models/text_classifier.onnx', '--input', 'models/samples/review_positive.npy'], /^onnx-explain: the model has no floating-point input to attribute; attribute at a layer instead/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'occlusion'], /^onnx-explain: occlusion needs a window shape \(--window, e\.g\. 4,4\)\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'occlusion', '--window', '9,3'], /^onnx-explain: occlusion window \[1, 9, 3\] is larger than input 'image' rows \[1, 8, 8\] on axis 2 \(9 > 8\)\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'occlusion', '--window', '2,2', '--stride', '3'], /^onnx-explain: occlusion stride 3 on axis 2 of 'image' is larger than the window there \(2\): elements between windows would never be occluded\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'feature-ablation', '--feature-mask', 'models/samples/patient_0.npy'], /^onnx-explain: feature mask for 'image' has shape \[1, 30\], expected \[1, 8, 8\] \(one mask for every example\) or \[1, 1, 8, 8\] \(one per example\)\n$/],
    [['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--method', 'feature-ablation', '--feature-mask', 'grid:2x2'], /^onnx-explain: grid masks are for images \(\[C,H,W\], \[H,W,C\] or \[H,W\] rows\): input 'features' has rows of shape \[30\]/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'kernel-shap', '--background', 'models/samples/patient_0.npy'], /^onnx-explain: background for 'image' has shape \[1, 30\]: its rows must have the input's row shape, \[K, 1, 8, 8\]\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'lime', '--samples', '0'], /^onnx-explain: --samples must be a whole number from 1 to 100,000, got '0'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'feature-permutation'], /^onnx-explain: feature permutation shuffles features among the examples of a batch: it needs at least 2 examples, got 1\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'lime', '--samples', '3'], /^onnx-explain: LIME: 3 samples do not determine a surrogate over 64 features \(.*\); take more samples, or set a ridge penalty\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--method', 'lrp', '--lrp-rule', 'Conv=zplus'], /^onnx-explain: --lrp-rule 'Conv=zplus' is not LAYER=RULE\[:VALUE\] with RULE one of epsilon, gamma, alpha1beta0, identity \(e\.g\. Conv=gamma:0\.25\)\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--device', 'cuda'], /^onnx-explain: CUDA was asked for but onnxruntime-node cannot use it \(.*\)\. .*--onnxruntime-node-install=cuda12\n$/],
  ])('%j', (args, message) => {
    const r = cli(...(args as string[]), '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
  });
});

test('--attribute chooses the inputs attributed; the others are held fixed', async () => {
  // y = [x . a + b, x . a - b], x [N, 3], b [N, 1]
  const { GraphBuilder, DataType, makeModel, encodeModel } = await import('@onnx-explain/core');
  const g = new GraphBuilder('two');
  const x = g.input('x', DataType.FLOAT, ['N', 3]);
  const b = g.input('b', DataType.FLOAT, ['N', 1]);
  const xa = g.op('MatMul', [x, g.constant(Float32Array.from([1, -1, 2]), [3, 1])]);
  g.output(g.op('Concat', [g.op('Add', [xa, b]), g.op('Sub', [xa, b])], { axis: 1 }, { output: 'y' }), DataType.FLOAT, ['N', 2]);
  const file = path.join(dir, 'two_inputs.onnx');
  fs.writeFileSync(file, encodeModel(makeModel(g.build(), { opset: 13 })));
  const xs = path.join(dir, 'x3.npy');
  const bs = path.join(dir, 'b1.npy');
  fs.writeFileSync(xs, encodeNpy({ dtype: 'float32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) }));
  fs.writeFileSync(bs, encodeNpy({ dtype: 'float32', shape: [1, 1], data: Float32Array.from([0.5]) }));
  const json = path.join(dir, 'two.json');
  const r = cli('attribute', file, '--input', `x=${xs}`, '--input', `b=${bs}`, '--attribute', 'x', '--target', '0', '--method', 'saliency', '--json', json, '--quiet');
  expect(r.err).toBe('');
  const out = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(Object.keys(out.attributionsByTensor)).toEqual(['x']);
  // saliency is |dy0/dx| = |a|
  expect(out.attributions.data).toEqual([1, 1, 2]);
  const both = JSON.parse((cli('attribute', file, '--input', `x=${xs}`, '--input', `b=${bs}`, '--target', '0', '--method', 'saliency', '--json', json, '--quiet'), fs.readFileSync(json, 'utf8')));
  expect(Object.keys(both.attributionsByTensor)).toEqual(['x', 'b']);
  const bad = cli('attribute', file, '--input', `x=${xs}`, '--input', `b=${bs}`, '--attribute', 'z', '--quiet');
  expect(bad.err).toBe("onnx-explain: cannot attribute 'z': the model has no such input\n");
});

describe('class names', () => {
  const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  test('--labels names the class in the summary and the JSON', () => {
    const file = path.join(dir, 'digits.txt');
    fs.writeFileSync(file, names.join('\n') + '\n');
    const json = path.join(dir, 'labelled.json');
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--labels', file, '--json', json, '--quiet', '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^target     class 3 \(three\) \(the top class\); output value/m);
    expect(JSON.parse(fs.readFileSync(json, 'utf8')).classNames).toEqual(['three']);
  });

  test('a labels file that does not name the class explained, or cannot be read, is refused', () => {
    const short = path.join(dir, 'nine.txt');
    fs.writeFileSync(short, names.slice(0, 9).join('\n'));
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--labels', short, '--target', '9', '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toBe(`onnx-explain: labels file '${short}' names 9 classes; class 9 has no name\n`);
    const missing = cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--labels', 'nope.txt', '--quiet');
    expect(missing.err).toBe("onnx-explain: labels file 'nope.txt' cannot be read\n");
  });
});

test('text: each position is shown as its token (--vocab) with its score, in reading order', () => {
  const json = path.join(dir, 'tokens.json');
  const r = cli('attribute', 'models/text_classifier.onnx', '--input', 'models/samples/review_positive.npy', '--at', EMB, '--vocab', 'models/text_vocab.json', '--json', json, '--quiet', '--device', 'cpu');
  expect(r.code).toBe(0);
  const vocab: Record<string, number> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/text_vocab.json'), 'utf8'));
  const byId = new Map(Object.entries(vocab).map(([t, id]) => [id, t]));
  const ids = Array.from(parseNpy(fs.readFileSync(path.join(repoRoot, 'models/samples/review_positive.npy'))).data as BigInt64Array, Number);
  const scores: number[] = JSON.parse(fs.readFileSync(json, 'utf8')).positionScores.data;
  const line = r.out.split('\n').find((l) => l.startsWith('tokens     '))!;
  expect(line.slice(11).split(' | ')).toEqual(ids.map((id, i) => `${byId.get(id)} ${scores[i] >= 0 ? '+' : ''}${scores[i].toFixed(3)}`));
  expect(line).toContain('great +');
  // without a vocabulary, the ids
  const plain = cli('attribute', 'models/text_classifier.onnx', '--input', 'models/samples/review_positive.npy', '--at', EMB, '--quiet', '--device', 'cpu');
  expect(plain.out).toMatch(new RegExp(`^tokens     #${ids[0]} [+-]`, 'm'));
});

test('token ids themselves, ablated one by one to <unk> (--baseline 1): each token shown with its drop, the same as the library', async () => {
  const json = path.join(dir, 'tokens_ablation.json');
  const r = cli('attribute', 'models/text_classifier.onnx', '--input', 'models/samples/review_positive.npy', '--method', 'feature-ablation', '--baseline', '1', '--vocab', 'models/text_vocab.json', '--json', json, '--quiet', '--device', 'cpu');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const got = JSON.parse(fs.readFileSync(json, 'utf8'));
  const want = await library('models/text_classifier.onnx', 'models/samples/review_positive.npy', { method: 'feature-ablation', baselines: 1 });
  expect(got.attributed).toBe('token_ids');
  expect(got.attributions.data).toEqual(Array.from(want.attributions.token_ids.data as Float32Array));
  const line = r.out.split('\n').find((l) => l.startsWith('tokens     '))!;
  expect(line).toContain(`great +${got.attributions.data[3].toFixed(3)}`);
  // the <unk> token replaced by <unk> changes nothing
  expect(line).toContain('<unk> +0.000');
});

test('a tree ensemble end to end: the gradient methods refuse it naming the ones that work, inspect says so, kernel-shap explains it', () => {
  const { encodeModel } = require('@onnx-explain/core');
  const model = path.join(dir, 'stump.onnx');
  fs.writeFileSync(model, encodeModel(stumpRegressor({ feature: 1 })));
  const input = path.join(dir, 'stump_x.npy');
  fs.writeFileSync(input, encodeNpy({ data: Float32Array.from([0.2, 0.9]), shape: [1, 2], dtype: 'float32' }));
  const refused = cli('attribute', model, '--input', input, '--target', 'sum', '--method', 'ig', '--quiet');
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/piecewise constant: .* explain it with tree-shap \(exact, read from the trees\) or a method that only runs the model: occlusion, feature-ablation, feature-permutation, shapley-sampling, kernel-shap, lime\n$/);
  expect(cli('inspect', model).out).toContain('explain it with tree-shap (exact, read from the trees) or a method that only runs the model: occlusion, feature-ablation');
  const json = path.join(dir, 'stump.json');
  const r = cli('attribute', model, '--input', input, '--target', 'sum', '--method', 'kernel-shap', '--json', json, '--quiet');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  // y = 1 if x1 <= 0.5 else 3; at x = (0.2, 0.9) from the zero baseline only x1 matters: 3 - 1
  expect(JSON.parse(fs.readFileSync(json, 'utf8')).attributions.data).toEqual([0, 2]);
});

describe('tree-shap on a tree ensemble (test/fixtures/trees)', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/trees/trees.json'), 'utf8')).models.xgb_binary_nan;
  const rows = (rs: (number | null)[][]) => ({ data: Float32Array.from(rs.flat().map((v) => (v === null ? NaN : v))), shape: [rs.length, rs[0].length], dtype: 'float32' as const });
  const x = path.join(dir, 'xgb_rows.npy');
  const bg = path.join(dir, 'xgb_background.npy');
  beforeAll(() => {
    fs.writeFileSync(x, encodeNpy(rows(meta.rows.slice(0, 2))));
    fs.writeFileSync(bg, encodeNpy(rows(meta.background)));
  });
  const model = 'test/fixtures/trees/xgb_binary_nan.onnx';

  test('with a background: interventional, the JSON equals the library, efficiency holds; missing values in the input are taken', async () => {
    const json = path.join(dir, 'treeshap.json');
    const r = cli('attribute', model, '--input', x, '--method', 'tree-shap', '--background', bg, '--target', '1', '--json', json, '--quiet');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('method     tree-shap, read from the trees (interventional, raw scores), no gradients\n');
    expect(r.out).toContain("the trees' raw scores (before post_transform) ('probabilities')");
    const got = JSON.parse(fs.readFileSync(json, 'utf8'));
    const ex = await NodeExplainer.load(path.join(repoRoot, model), { device: 'cpu' });
    try {
      const want = await ex.explain({ x: readInputFileSync(x) }, { method: 'tree-shap', background: readInputFileSync(bg), target: 1 });
      expect(got.attributions.data).toEqual(Array.from(want.attributions.x.data as Float32Array));
      expect(got.algorithm).toBe('interventional');
      got.delta.forEach((d: number) => expect(Math.abs(d)).toBeLessThan(1e-5));
    } finally {
      await ex.release();
    }
  });

  test('by default (auto): tree-shap, path-dependent under the trees\' own covers, and it says why', () => {
    const r = cli('attribute', model, '--input', x, '--quiet');
    expect(r.code).toBe(0);
    expect(r.out).toContain('method     tree-shap, read from the trees (path-dependent, raw scores, node covers from hitrates), no gradients (auto: a tree ensemble: exact Shapley values from its trees)');
  });

  test('--output probability: exact by enumeration; path-dependent refuses it', () => {
    const ok = cli('attribute', model, '--input', x, '--method', 'tree-shap', '--background', bg, '--output', 'probability', '--quiet');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('(interventional, probability scores)');
    const no = cli('attribute', model, '--input', x, '--method', 'tree-shap', '--algorithm', 'path-dependent', '--output', 'probability', '--quiet');
    expect(no.code).toBe(1);
    expect(no.err).toBe("onnx-explain: the probability output's values are exact by enumeration against background rows: use algorithm 'interventional' with a background\n");
  });
});

test('feature permutation over a batch file: each example gets the drop from its features taken from another', async () => {
  const rows = ['patient_0.npy', 'patient_1.npy'].map((f) => parseNpy(fs.readFileSync(path.join(repoRoot, 'models/samples', f))).data as Float32Array);
  const batch = path.join(dir, 'patients.npy');
  const data = new Float32Array(60);
  data.set(rows[0], 0);
  data.set(rows[1], 30);
  fs.writeFileSync(batch, encodeNpy({ data, shape: [2, 30], dtype: 'float32' }));
  const json = path.join(dir, 'permutation.json');
  const r = cli('attribute', 'models/tabular_mlp.onnx', '--input', batch, '--method', 'feature-permutation', '--target', '1', '--json', json, '--quiet', '--device', 'cpu');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const got = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(got.attributions.shape).toEqual([2, 30]);
  // with two examples the only permutation swaps them: example 0's drop is F(x0) - F(x0 with feature i from x1)
  const ex = await NodeExplainer.load(path.join(repoRoot, 'models/tabular_mlp.onnx'), { device: 'cpu' });
  try {
    const swapped = new Float32Array(30 * 30);
    for (let i = 0; i < 30; i++) {
      swapped.set(rows[0], i * 30);
      swapped[i * 30 + i] = rows[1][i];
    }
    const out = await ex.explain({ features: { type: 'float32', dims: [30, 30], data: swapped } }, { method: 'feature-ablation', target: 1, featureMask: { type: 'int32', dims: [30], data: new Int32Array(30) } });
    // feature ablation with one feature over everything, from the zero baseline: F(row) - F(0), so F(row) = outputs
    const f0 = got.output[0];
    got.attributions.data.slice(0, 30).forEach((v: number, i: number) => expect(v).toBeCloseTo(f0 - out.outputs[i], 4));
  } finally {
    await ex.release();
  }
});

describe('a batch is reported whole', () => {
  test('three examples: a summary line and a heatmap each, features named (c, y, x)', () => {
    const rows = ['digit_0', 'digit_3', 'digit_7'].map((f) => parseNpy(fs.readFileSync(path.join(repoRoot, `models/samples/${f}.npy`))));
    const data = new Float32Array(3 * 64);
    rows.forEach((r, i) => data.set(r.data as Float32Array, i * 64));
    const input = path.join(dir, 'three_digits.npy');
    fs.writeFileSync(input, encodeNpy({ dtype: 'float32', shape: [3, 1, 8, 8], data }));
    const heat = path.join(dir, 'batch.png');
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', input, '--heatmap', heat, '--device', 'cpu', '--quiet');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const largest = r.out.split('\n').filter((l) => l.startsWith('largest'));
    expect(largest).toHaveLength(3);
    largest.forEach((l, e) => expect(l).toMatch(new RegExp(`^largest    example ${e}: feature \\(c, y, x\\) \\(0, [0-7], [0-7]\\): [+-]\\d`)));
    const pngs = [0, 1, 2].map((e) => fs.readFileSync(path.join(dir, `batch_${e}.png`)));
    expect(fs.existsSync(heat)).toBe(false);
    // three different digits, three different pictures
    expect(pngs[0].equals(pngs[1]) || pngs[1].equals(pngs[2])).toBe(false);
  });
});

test('no device notice on a machine without an NVIDIA driver; one short line where there is one', () => {
  const r = cli('attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy');
  expect(r.code).toBe(0);
  if (nvidiaDriverPresent()) expect(r.err).toMatch(/^onnx-explain: an NVIDIA GPU is here but onnxruntime-node has no CUDA provider/);
  else expect(r.err).toBe('');
});

test('the demo writes a heatmap and a JSON with no arguments', () => {
  const r = cli('demo', '--quiet');
  expect(r.code).toBe(0);
  const json = JSON.parse(fs.readFileSync(path.join(repoRoot, 'demo-output/digit_3_ig.json'), 'utf8'));
  expect(json.classes).toEqual([3]);
  expect(Math.abs(json.delta[0])).toBeLessThan(0.01 * Math.abs(json.output[0] - json.baselineOutput[0]));
  expect(PNG.sync.read(fs.readFileSync(path.join(repoRoot, 'demo-output/digit_3_ig.png'))).width).toBeGreaterThan(256);
});

test('a fused GPT-2 with past states from the CLI: several inputs, layer IG at the embedding sum, tokens shown by their ids, completeness', () => {
  // one example of the lowered-model fixture's inputs, each as its own JSON file
  const ref = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/lowered/ortgenai_tiny_random_gpt2_past.json'), 'utf8'));
  const dir = tmpDir('gpt2-inputs');
  const args: string[] = [];
  for (const [name, v] of Object.entries<any>(ref.inputs)) {
    let { shape, data } = v;
    if (name.startsWith('past')) {
      // [2, B, heads, past, head] -> the first example, [2, 1, ...]
      const per = shape.slice(2).reduce((a: number, b: number) => a * b, 1);
      data = [...data.slice(0, per), ...data.slice(shape[1] * per, shape[1] * per + per)];
      shape = [2, 1, ...shape.slice(2)];
    } else {
      data = data.slice(0, data.length / shape[0]);
      shape = [1, ...shape.slice(1)];
    }
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ shape, dtype: v.dtype, data }));
    args.push('--input', `${name}=${path.join(dir, `${name}.json`)}`);
  }
  const r = cli('attribute', 'test/fixtures/lowered/ortgenai_tiny_random_gpt2_past.onnx', ...args, '--at', ref.at, '--target', '3,7', '--steps', '32', '--json', path.join(dir, 'out.json'));
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/gradients by graph \(through 1 x com\.microsoft::EmbedLayerNormalization, 5 x com\.microsoft::Attention, 10 x com\.microsoft::SkipLayerNormalization, 5 x com\.microsoft::FastGelu, lowered to standard ops\)/);
  // the token ids of input_ids, not the attention mask's ones
  expect(r.out).toMatch(/^tokens {5}#5 [-+]\d\.\d{3} \| #17 [-+]\d\.\d{3} \| #300 [-+]\d\.\d{3} \| #42 [-+]\d\.\d{3}$/m);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
  expect(json.lowered).toHaveLength(21);
  expect(Math.abs(json.delta[0])).toBeLessThan(1e-3 * Math.abs(json.output[0] - json.baselineOutput[0]));
});
