/**
 * The gradient builder on whole models: the shipped ones (batched rows, each
 * with its own class target), targets of every kind, cutting at an
 * embedding, errors, and making fixed-batch exports batchable. Gradients are
 * checked against central finite differences of the original model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  buildGradientModel,
  probeShapes,
  makeBatchable,
  decodeModel,
  encodeModel,
  GraphBuilder,
  DataType,
  makeModel,
  MissingGradientError,
  GradientError,
  gradientCoverage,
  embeddingOutputs,
  tileBatch,
  type ModelProto,
  type Tensor,
} from '@onnx-explain/core';
import { runtime, relL2, values } from './fd';
import { repoRoot } from '../helpers/ort';
import { sample, stackRows } from '../helpers/samples';

const load = (f: string) => decodeModel(fs.readFileSync(path.join(repoRoot, 'models', f)));
const npy = sample;
const concatRows = stackRows;

/** Central differences of output[row, cls] with respect to input row `row`, element by element. */
async function fdRow(model: ModelProto, feeds: Record<string, Tensor>, input: string, row: number, pick: (out: Float32Array) => number, h = 1e-2) {
  const s = await runtime.createSession(model);
  const x = feeds[input];
  const per = x.data.length / x.dims[0];
  const g = new Float32Array(per);
  try {
    for (let i = 0; i < per; i++) {
      const run = async (d: number) => {
        const data = Float32Array.from(x.data as Float32Array);
        data[row * per + i] += d;
        const out = await s.run({ ...feeds, [input]: { ...x, data } });
        return pick(Object.values(out)[0].data as Float32Array);
      };
      g[i] = ((await run(h)) - (await run(-h))) / (2 * h);
    }
  } finally {
    await s.release();
  }
  return g;
}

describe('shipped models', () => {
  test('digits CNN: one session serves every class target; the input model is untouched', async () => {
    const model = load('digits_cnn.onnx');
    const before = encodeModel(model);
    const x = concatRows([npy('digit_0.npy'), npy('digit_3.npy'), npy('digit_7.npy')]);
    const shapes = await probeShapes(runtime, model, { image: npy('digit_0.npy') });
    expect(shapes.get('logits')!.dims).toEqual(['N', 10]);
    const gm = buildGradientModel(model, { target: { kind: 'class' }, wrt: ['image'], shapes });
    expect(encodeModel(model)).toEqual(before);
    const s = await runtime.createSession(gm.model);
    const run = (targets: number[]) =>
      s.run({ image: x, [gm.targetInput!]: { type: 'int64', dims: [3], data: BigInt64Array.from(targets.map(BigInt)) } });
    const a = await run([0, 3, 5]);
    const b = await run([1, 1, 1]);
    await s.release();
    const logits = a.logits.data as Float32Array;
    [0, 3, 5].forEach((t, r) => expect((a[gm.selected].data as Float32Array)[r]).toBeCloseTo(logits[r * 10 + t], 5));
    [1, 1, 1].forEach((t, r) => expect((b[gm.selected].data as Float32Array)[r]).toBeCloseTo(logits[r * 10 + t], 5));
    // different targets, different gradients (their values are checked against PyTorch in architectures.test.ts)
    expect(relL2(a[gm.gradients.image].data as Float32Array, b[gm.gradients.image].data as Float32Array)).toBeGreaterThan(0.1);
  });

  test('tabular MLP: index target equals class target, sum target equals the sum over classes', async () => {
    const model = load('tabular_mlp.onnx');
    const x = concatRows([npy('patient_0.npy'), npy('patient_1.npy')]);
    const shapes = await probeShapes(runtime, model, { features: npy('patient_0.npy') });
    const grad = async (target: Parameters<typeof buildGradientModel>[1]['target'], cls?: number) => {
      const gm = buildGradientModel(model, { target, wrt: ['features'], shapes });
      const feeds: Record<string, Tensor> = { features: x };
      if (gm.targetInput) feeds[gm.targetInput] = { type: 'int64', dims: [2], data: BigInt64Array.from([BigInt(cls!), BigInt(cls!)]) };
      const s = await runtime.createSession(gm.model);
      const out = await s.run(feeds);
      await s.release();
      return out[gm.gradients.features].data as Float32Array;
    };
    const c0 = await grad({ kind: 'class' }, 0);
    const c1 = await grad({ kind: 'class' }, 1);
    const i1 = await grad({ kind: 'index', index: [1] });
    const sum = await grad({ kind: 'sum' });
    expect(relL2(i1, c1)).toBeLessThan(1e-6);
    expect(relL2(sum, c0.map((v, i) => v + c1[i]))).toBeLessThan(1e-5);
  });

  test('text classifier: cut at the embedding output, the model takes embeddings and matches finite differences', async () => {
    const model = load('text_classifier.onnx');
    const [emb] = embeddingOutputs(model);
    expect(emb).toBeDefined();
    expect(gradientCoverage(model).verdict).toBe('graph');
    const ids = npy('review_positive.npy');
    const shapes = await probeShapes(runtime, model, { token_ids: ids });
    expect(shapes.get(emb)!.dims).toEqual(['N', 12, 16]);
    const gm = buildGradientModel(model, { target: { kind: 'class' }, wrt: [emb], cut: [emb], shapes });
    expect(gm.cutInputs).toEqual([emb]);
    const full = buildGradientModel(model, { target: { kind: 'class' }, wrt: [emb], shapes });
    const fs1 = await runtime.createSession(full.model);
    const target = { type: 'int64' as const, dims: [1], data: BigInt64Array.from([1n]) };
    const viaIds = await fs1.run({ token_ids: ids, [full.targetInput!]: target });
    await fs1.release();
    // the cut model needs the ids too (the padding mask is computed from them) plus the embeddings
    const e = viaIds[full.gradients[emb]];
    const s = await runtime.createSession(gm.model);
    const embeddings = await embeddingsOf(model, ids, emb);
    const out = await s.run({ token_ids: ids, [emb]: embeddings, [gm.targetInput!]: target });
    await s.release();
    expect(relL2(out[gm.gradients[emb]].data as Float32Array, e.data as Float32Array)).toBeLessThan(1e-6);
    const fd = await fdRow(gm.model, { token_ids: ids, [emb]: embeddings, [gm.targetInput!]: target }, emb, 0, (o) => o[1]);
    expect(relL2(out[gm.gradients[emb]].data as Float32Array, fd)).toBeLessThan(1e-3);
  });
});

async function embeddingsOf(model: ModelProto, ids: Tensor, emb: string): Promise<Tensor> {
  const m = decodeModel(encodeModel(model));
  m.graph!.output!.push({ name: emb });
  const s = await runtime.createSession(m);
  const out = await s.run({ token_ids: ids });
  await s.release();
  return out[emb];
}

describe('MaxPool on ties', () => {
  // Finite differences cannot see a tie (the max is not differentiable
  // there), so the oracle is the rule itself, counted by hand: each window's
  // gradient goes to its first maximum in row-major order, as PyTorch's
  // max_pool2d and onnxruntime's Indices output pick it.
  const cases: [string, Record<string, number[]>][] = [
    ['3x3 stride 2 pads 1 (ResNet stem)', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['3x3 stride 1, ceil_mode', { kernel_shape: [3, 3], strides: [1, 1], ceil_mode: [1] }],
    ['2x2 stride 2', { kernel_shape: [2, 2], strides: [2, 2] }],
    ['3x3 stride 2 ceil_mode (SqueezeNet)', { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: [1] }],
  ];
  test.each(cases)('%s: each window routes its gradient to its first maximum', async (_, attrs) => {
    const [N, C, H, W] = [2, 2, 6, 7];
    const b = new GraphBuilder('ties');
    const x = b.input('x', DataType.FLOAT, ['N', C, H, W]);
    const { ceil_mode, ...rest } = attrs;
    const y = b.op('MaxPool', [x], { ...rest, ...(ceil_mode ? { ceil_mode: ceil_mode[0] } : {}) });
    b.output(y, DataType.FLOAT);
    const model = makeModel(b.build(), { opset: 17 });
    // values from {0, 1, 2}: most windows hold their max more than once, some are all equal
    const data = Float32Array.from({ length: N * C * H * W }, (_, i) => [0, 2, 1, 2, 0, 0, 1][(i * 5 + Math.floor(i / 7)) % 7]);
    const input: Tensor = { type: 'float32', dims: [N, C, H, W], data };
    const shapes = await probeShapes(runtime, model, { x: input });
    const gm = buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], shapes });
    const s = await runtime.createSession(gm.model);
    const out = await s.run({ x: input });
    await s.release();
    const got = out[gm.gradients.x].data as Float32Array;
    // the hand count: windows over the padded grid, padding never wins
    const [kh, kw] = rest.kernel_shape;
    const [sh, sw] = rest.strides;
    const [pt, pl] = rest.pads ?? [0, 0];
    const outDim = (size: number, k: number, st: number, p0: number, p1: number) => {
      const q = (size + p0 + p1 - k) / st;
      let o = (ceil_mode ? Math.ceil(q) : Math.floor(q)) + 1;
      if (ceil_mode && (o - 1) * st >= size + p0) o--;
      return o;
    };
    const [oh, ow] = [outDim(H, kh, sh, pt, rest.pads?.[2] ?? 0), outDim(W, kw, sw, pl, rest.pads?.[3] ?? 0)];
    expect(out[gm.output].dims).toEqual([N, C, oh, ow]);
    const want = new Float32Array(data.length);
    let tied = 0;
    for (let nc = 0; nc < N * C; nc++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let best = -Infinity;
          let at = -1;
          let count = 0;
          for (let a = 0; a < kh; a++) {
            for (let c2 = 0; c2 < kw; c2++) {
              const r = i * sh + a - pt;
              const col = j * sw + c2 - pl;
              if (r < 0 || r >= H || col < 0 || col >= W) continue;
              const v = data[nc * H * W + r * W + col];
              if (v > best) [best, at, count] = [v, nc * H * W + r * W + col, 1];
              else if (v === best) count++;
            }
          }
          want[at] += 1;
          if (count > 1) tied++;
        }
      }
    }
    expect(tied).toBeGreaterThan(N * C * 2);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});

describe('errors name the problem', () => {
  function tiny(opType: string, domain?: string): ModelProto {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, ['N', 4]);
    const y = b.op(opType, [b.op('Relu', [x])], {}, { domain, name: 'the_node' });
    b.output(b.op('Tanh', [y]), DataType.FLOAT, ['N', 4]);
    return makeModel(b.build(), { opset: 17, extraOpsets: domain ? [{ domain, version: 1 }] : [] });
  }
  const shapes = new Map([['x', { dims: ['N', 4], type: DataType.FLOAT }], ['hardmax', { dims: ['N', 4], type: DataType.FLOAT }], ['fastgelu', { dims: ['N', 4], type: DataType.FLOAT }], ['tanh', { dims: ['N', 4], type: DataType.FLOAT }], ['relu', { dims: ['N', 4], type: DataType.FLOAT }]]);

  test('an op with no rule fails loudly with the op and the node', () => {
    const model = tiny('Hardmax');
    expect(() => buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], shapes })).toThrow(MissingGradientError);
    expect(() => buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], shapes })).toThrow(/no gradient rule for op Hardmax at opset 17 \(Hardmax node 'the_node'\)/);
    expect(gradientCoverage(model).blocking).toEqual([{ opType: 'Hardmax', domain: '', nodes: ['the_node'] }]);
  });

  test('a contrib op is named with its domain', () => {
    expect(() => buildGradientModel(tiny('FastGelu', 'com.microsoft'), { target: { kind: 'sum' }, wrt: ['x'], shapes })).toThrow(/no gradient rule for op com\.microsoft::FastGelu/);
  });

  test('unknown tensors, unknown outputs, bad indices', () => {
    const model = tiny('Relu');
    expect(() => buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['nope'], shapes })).toThrow("unknown tensor 'nope'");
    expect(() => buildGradientModel(model, { target: { kind: 'sum' }, wrt: ['x'], output: 'z', shapes })).toThrow(/has no output 'z'; its outputs are tanh/);
    expect(() => buildGradientModel(model, { target: { kind: 'index', index: [7] }, wrt: ['x'], shapes })).toThrow('target index [7] does not fit output');
  });
});

describe('makeBatchable', () => {
  /** An export with batch 1 baked in: fixed input dim and Reshape to [1, 12]. */
  function fixedBatch(): ModelProto {
    const b = new GraphBuilder('fixed');
    const x = b.input('x', DataType.FLOAT, [1, 3, 4]);
    const w = b.constant(values(24, 'normal', 5), [12, 2]);
    const flat = b.op('Reshape', [b.op('Relu', [x]), b.constant(BigInt64Array.from([1n, 12n]), [2])]);
    b.output(b.op('MatMul', [flat, w], {}, { output: 'y' }), DataType.FLOAT, [1, 2]);
    return makeModel(b.build(), { opset: 13 });
  }

  test('a fixed batch of 1 is made symbolic and verified by running it', async () => {
    const x: Tensor = { type: 'float32', dims: [1, 3, 4], data: values(12, 'normal', 3) };
    const r = await makeBatchable(runtime, fixedBatch(), { x });
    expect(r.batchable).toBe(true);
    expect(r.changes.join('\n')).toMatch(/target \[1, 12\] -> \[-1, 12\]/);
    const s = await runtime.createSession(r.model);
    const one = await s.run({ x });
    const three = await s.run({ x: tileBatch(x, 3) });
    await s.release();
    expect(Array.from(three.y.data as Float32Array)).toEqual([...one.y.data, ...one.y.data, ...one.y.data]);
    const shapes = await probeShapes(runtime, r.model, { x });
    expect(shapes.get('y')!.dims).toEqual(['N', 2]);
  });

  test('a model whose rows mix is reported as not batchable, with the reason', async () => {
    // the output sums over axis 0: rows are not independent
    const b = new GraphBuilder('mixing');
    const x = b.input('x', DataType.FLOAT, [1, 4]);
    b.output(b.op('ReduceSum', [x], { axes: [0], keepdims: 1 }, { output: 'y' }), DataType.FLOAT, [1, 4]);
    const x1: Tensor = { type: 'float32', dims: [1, 4], data: values(4, 'normal', 4) };
    const r = await makeBatchable(runtime, makeModel(b.build(), { opset: 11 }), { x: x1 });
    expect(r.batchable).toBe(false);
    expect(r.reason).toMatch(/differs from the batch-1 result|has shape/);
  });

  test('rows that mix only when they differ are found: a normalisation over the batch axis is not batchable', async () => {
    // MeanVarianceNormalization over [0, 2, 3] (its default): identical rows normalise as one row does, different ones do not
    const b = new GraphBuilder('mvn');
    const x = b.input('x', DataType.FLOAT, ['N', 2, 2, 2]);
    b.output(b.op('MeanVarianceNormalization', [x], {}, { output: 'y' }), DataType.FLOAT, ['N', 2, 2, 2]);
    const x1: Tensor = { type: 'float32', dims: [1, 2, 2, 2], data: values(8, 'normal', 6) };
    const r = await makeBatchable(runtime, makeModel(b.build(), { opset: 13 }), { x: x1 });
    expect(r.batchable).toBe(false);
    expect(r.reason).toMatch(/^not batchable as exported \(row 0 of output 'y' differs from the batch-1 result\)/);
  });
});
