/**
 * The CLI as a user runs it: a subprocess on the built package (pnpm test
 * builds first). Outputs are checked against PyTorch's, recorded when the
 * models were exported (models/models.json).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tmpDir } from './helpers/ort';
import { DataType, GraphBuilder, encodeModel, makeModel } from '@onnx-explain/core';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models/models.json'), 'utf8'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('inspect --tensors --input lists every intermediate tensor with the shape the model computes (what --at takes)', async () => {
  const r = cli('inspect', 'models/digits_cnn.onnx', '--tensors', '--input', 'models/samples/digit_3.npy', '--json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const listed: { name: string; op: string; type: string; shape: (number | string)[] }[] = JSON.parse(r.out).tensors;
  // the oracle: the same model with every node output exposed, run on the sample
  const { decodeModel, exposeIntermediates, parseNpy } = await import('@onnx-explain/core');
  const ort = await import('onnxruntime-node');
  const model = decodeModel(fs.readFileSync(path.join(repoRoot, 'models/digits_cnn.onnx')));
  const x = parseNpy(fs.readFileSync(path.join(repoRoot, 'models/samples/digit_3.npy')));
  const session = await ort.InferenceSession.create(encodeModel(exposeIntermediates(model)));
  const out = await session.run({ image: new ort.Tensor('float32', x.data as Float32Array, x.shape) });
  await session.release();
  const produced = model.graph!.node!.flatMap((n) => n.output!.filter(Boolean));
  expect(listed.map((t) => t.name)).toEqual(produced);
  for (const t of listed) {
    expect([t.name, t.shape.map((d) => (d === 'N' ? 1 : d))]).toEqual([t.name, [...out[t.name].dims]]);
    expect([t.name, t.type]).toEqual([t.name, out[t.name].type]);
  }
  expect(listed.find((t) => t.name === '/features/features.3/Relu_output_0')?.op).toBe('Relu');
  // without an input: what the model declares, and a pointer to --input
  const plain = cli('inspect', 'models/digits_cnn.onnx', '--tensors');
  expect(plain.code).toBe(0);
  expect(plain.out).toContain('tensors (shapes as the model declares them; give --input for all of them)');
  expect(plain.out).toMatch(/\/features\/features\.3\/Relu_output_0 +Relu /);
});

test('inspect --json describes a shipped model', () => {
  const r = cli('inspect', 'models/text_classifier.onnx', '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out);
  expect(s.inputs).toEqual([{ name: 'token_ids', type: 'int64', shape: ['batch', 12] }]);
  expect(s.opCounts.Gather).toBe(1);
  expect(s.opsets).toEqual([{ domain: 'ai.onnx', version: 14 }]);
});

test.each([['npy'], ['json']])('run on a .%s sample prints the logits PyTorch computed', (ext) => {
  const sample = manifest.tabular_mlp.samples.patient_0;
  const r = cli('run', 'models/tabular_mlp.onnx', '--input', `features=models/samples/patient_0.${ext}`);
  expect(r.code).toBe(0);
  const printed = /logits float32 \[1, 2\]: (\S+) (\S+)/.exec(r.out)!;
  expect(Number(printed[1])).toBeCloseTo(sample.torch_output[0], 3);
  expect(Number(printed[2])).toBeCloseTo(sample.torch_output[1], 3);
});

test('inspect writes a model\'s control characters as escapes, not to the terminal', () => {
  const evil = 'x\u001b]0;owned\u0007\u001b[2J\r';
  const b = new GraphBuilder('g');
  const x = b.input(evil, DataType.FLOAT, ['N', 2]);
  b.op('Hardmax', [x], {}, { name: `${evil}node`, output: `${evil}y` });
  b.output(`${evil}y`, DataType.FLOAT, ['N', 2]);
  const model = makeModel(b.build(), { opset: 17, producerName: evil });
  model.metadataProps = [{ key: evil, value: 'v' }];
  const file = path.join(tmpDir(), 'evil.onnx');
  fs.writeFileSync(file, encodeModel(model));
  const r = cli('inspect', file);
  expect(r.code).toBe(0);
  expect(r.out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  const shown = 'x\\u001b]0;owned\\u0007\\u001b[2J\\u000d';
  expect(r.out).toContain(`producer   ${shown}`);
  expect(r.out).toContain(`metadata   ${shown} = v`);
  expect(r.out).toContain(`  ${shown}  float32 [N, 2]`);
  expect(r.out).toContain(`Hardmax (${shown}node)`);
});

describe('bad input gets one clear line and a non-zero exit', () => {
  test.each([
    [['inspect', 'models/nope.onnx'], /^onnx-explain: model file 'models\/nope\.onnx' does not exist\n$/],
    [['inspect', 'package.json'], /^onnx-explain: 'package\.json' is not an ONNX model/],
    [['run', 'models/digits_cnn.onnx', '--input', 'models/samples/patient_0.npy'], /^onnx-explain: input 'image' expects shape \[batch, 1, 8, 8\], got \[1, 30\]\n$/],
    [['run', 'models/text_classifier.onnx', '--input', 'models/samples/patient_0.npy'], /^onnx-explain: input 'token_ids' expects type int64, got float32/],
    [['run', 'models/digits_cnn.onnx', '--input', 'pixels=models/samples/digit_0.npy'], /^onnx-explain: the model has no input 'pixels'; its inputs are image\n$/],
    [['run', 'models/digits_cnn.onnx', '--input', 'models/samples/missing.npy'], /^onnx-explain: input file 'models\/samples\/missing\.npy' does not exist\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--steps', 'many', '--quiet'], /^onnx-explain: --steps must be a positive integer or auto, got 'many'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--steps', '2.5', '--quiet'], /^onnx-explain: --steps must be a positive integer or auto, got '2.5'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--steps', 'auto', '--tolerance', '2', '--quiet'], /^onnx-explain: --tolerance must be a positive number below 1, got '2'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--batch-size', '0'], /^onnx-explain: --batch-size must be a whole number from 1 to 4,096, got '0'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--batch-size', '-1'], /^onnx-explain: --batch-size must be a whole number from 1 to 4,096, got '-1'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--batch-size', '1.5'], /^onnx-explain: --batch-size must be a whole number from 1 to 4,096, got '1\.5'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--batch-size', '1e9'], /^onnx-explain: --batch-size must be a whole number from 1 to 4,096, got '1000000000'\n$/],
    [['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--quiet', '--method', 'smoothgrad', '--samples', '0'], /^onnx-explain: --samples must be a whole number from 1 to 100,000, got '0'\n$/],
    [['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--quiet', '--method', 'smoothgrad', '--samples', '-3'], /^onnx-explain: --samples must be a whole number from 1 to 100,000, got '-3'\n$/],
    [['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--quiet', '--method', 'smoothgrad', '--stdev', 'NaN'], /^onnx-explain: --stdev must be a non-negative number, got 'NaN'\n$/],
    [['attribute', 'models/tabular_mlp.onnx', '--input', 'models/samples/patient_0.npy', '--quiet', '--method', 'gradient-shap', '--stdev', '-1'], /^onnx-explain: --stdev must be a non-negative number, got '-1'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--max-evaluations', '0'], /^onnx-explain: --max-evaluations must be a whole number from 1 to 9,007,199,254,740,991, got '0'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--steps', 'auto', '--tolerance', 'NaN'], /^onnx-explain: --tolerance must be a positive number below 1, got 'NaN'\n$/],
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--quiet', '--steps', '0'], /^onnx-explain: --steps must be a positive integer or auto, got '0'\n$/],
  ])('%j', (args, message) => {
    const r = cli(...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
  });

  test('--steps auto that does not reach its tolerance within the most steps warns on stderr, even with --quiet', () => {
    const r = cli('attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_3.npy', '--steps', 'auto', '--tolerance', '1e-5', '--quiet');
    expect(r.code).toBe(0);
    expect(r.out).toContain('1025 steps (auto, romberg, tolerance 0.00001)');
    expect(r.err).toMatch(/^onnx-explain: warning: example 0 did not converge to tolerance 0.00001 within 1025 steps \(error estimate \d\.\de-\d\)\n$/);
  });

  test.each([
    [['attribute', 'models/digits_cnn.onnx', '--input', 'models/samples/digit_0.npy', '--method', 'shap'], /^onnx-explain: Invalid values: Argument: method, Given: "shap", Choices: "auto", "ig", "saliency", .*"grad-cam", "guided-backprop", "deconvolution", "guided-grad-cam", "deeplift", "deeplift-shap", "lrp", "occlusion", .*"lime", "tree-shap" \(see --help\)\n$/],
    [['attribute', 'models/digits_cnn.onnx'], /^onnx-explain: Missing required argument: input \(see --help\)\n$/],
  ])('a bad choice or a missing option is one line naming it, exit 2: %j', (args, message) => {
    const r = cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.split('\n').length).toBe(2);
  });

  test.each([['inspect'], ['run']])('%s accepts --quiet', (cmd) => {
    const r = cli(cmd, 'models/digits_cnn.onnx', ...(cmd === 'run' ? ['--input', 'models/samples/digit_0.npy'] : []), '--quiet');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  test('an unknown command prints usage and exits 2', () => {
    const r = cli('explode');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown argument: explode/);
  });

  test('a .npy file with a bad header is named', () => {
    const f = path.join(tmpDir(), 'bad.npy');
    fs.writeFileSync(f, 'not numpy');
    const r = cli('run', 'models/digits_cnn.onnx', '--input', f);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.npy' is not a \.npy file/);
  });
});
