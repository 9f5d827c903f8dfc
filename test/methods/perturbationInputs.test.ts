/**
 * The perturbation methods' inputs: feature masks (grid cells laid out as
 * the image is, SLIC superpixels following the image and connected), inputs
 * of any type (the byte LSTM's uint8 bytes, ablated one by one and checked
 * against the model run on each ablated input built here), progress and
 * cancellation, and every bad option refused before the model runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Explainer,
  GraphBuilder,
  DataType,
  makeModel,
  decodeModel,
  featureMasks,
  slic,
  occlusion,
  featureAblation,
  featurePermutation,
  shapleySampling,
  kernelShap,
  lime,
  CancelledError,
  type Tensor,
  type ProgressEvent,
} from '@onnx-explain/core';
import { runtime } from '../grad/fd';
import { repoRoot } from '../helpers/ort';

const f32 = (dims: number[], data?: number[]): Tensor => ({ type: 'float32', dims, data: data ? Float32Array.from(data) : new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5) });

/** y = sum of x over [N, 4] (sum target), and a count of the runs made. */
function summing(): { ex: Explainer; runs: () => number } {
  const g = new GraphBuilder('sum');
  const x = g.input('x', DataType.FLOAT, ['N', 4]);
  g.output(g.op('MatMul', [x, g.constant(new Float32Array(4).fill(1), [4, 1])], {}, { output: 'y' }), DataType.FLOAT, ['N', 1]);
  let runs = 0;
  const counting = {
    name: runtime.name,
    async createSession(m: Parameters<typeof runtime.createSession>[0]) {
      const s = await runtime.createSession(m);
      return { inputNames: s.inputNames, outputNames: s.outputNames, release: () => s.release(), run: (f: Record<string, Tensor>, o?: string[]) => ((runs += 1), s.run(f, o)) };
    },
  };
  return { ex: new Explainer(counting, makeModel(g.build(), { opset: 13 })), runs: () => runs };
}

describe('feature masks', () => {
  test('grid:2x2 over an NCHW and an NHWC image: a cell is every channel of its pixels', () => {
    const nchw = f32([1, 3, 4, 6]);
    const [a] = featureMasks('grid:2x2', { x: nchw }, ['x'], 1);
    expect(a.count).toBe(4);
    const cell = (y: number, x: number) => Math.floor(y / 2) * 2 + Math.floor(x / 3);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) expect(a.ids.x[c * 24 + y * 6 + x]).toBe(cell(y, x));
    const nhwc = f32([1, 4, 6, 3]);
    const [b] = featureMasks('grid:2x2', { x: nhwc }, ['x'], 1);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) for (let c = 0; c < 3; c++) expect(b.ids.x[(y * 6 + x) * 3 + c]).toBe(cell(y, x));
  });

  test('slic:4 on an image of four flat quadrants finds the quadrants; slic:16 on a smooth one gives connected pieces near 16', () => {
    const H = 24;
    const img = new Float32Array(3 * H * H);
    const colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]];
    for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) for (let c = 0; c < 3; c++) img[c * H * H + y * H + x] = colours[(y < 12 ? 0 : 2) + (x < 12 ? 0 : 1)][c];
    const ax = { channels: 3, height: H, width: H, channelsLast: false };
    const quad = slic(img, ax, 4);
    expect(quad.count).toBe(4);
    for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) expect(quad.labels[y * H + x]).toBe(quad.labels[(y < 12 ? 0 : 12) * H + (x < 12 ? 0 : 12)]);
    const smooth = new Float32Array(H * H).map((_, p) => Math.sin(p / 50));
    const s = slic(smooth, { channels: 1, height: H, width: H, channelsLast: false }, 16);
    expect(s.count).toBeGreaterThanOrEqual(8);
    expect(s.count).toBeLessThanOrEqual(24);
    // every label is one 4-connected piece
    for (let k = 0; k < s.count; k++) {
      const pixels = [...s.labels.keys()].filter((p) => s.labels[p] === k);
      const seen = new Set([pixels[0]]);
      const queue = [pixels[0]];
      while (queue.length) {
        const p = queue.pop()!;
        for (const q of [p - 1, p + 1, p - H, p + H]) {
          if (q < 0 || q >= H * H || (Math.abs((q % H) - (p % H)) > 1) || s.labels[q] !== k || seen.has(q)) continue;
          seen.add(q);
          queue.push(q);
        }
      }
      expect(seen.size).toBe(pixels.length);
    }
  });

  test('bad masks are refused, naming the problem', () => {
    const x = { x: f32([2, 4]) };
    const ids = (dims: number[], v: number[]): Tensor => ({ type: 'int64', dims, data: BigInt64Array.from(v.map(BigInt)) });
    expect(() => featureMasks(ids([3], [0, 1, 2]), x, ['x'], 2)).toThrow("feature mask for 'x' has shape [3], expected [4] (one mask for every example) or [2, 4] (one per example)");
    expect(() => featureMasks(ids([4], [0, 2, 2, 3]), x, ['x'], 2)).toThrow('feature mask ids must run from 0 to M-1 with none skipped (example 0): id 1 is missing, ids go up to 3');
    expect(() => featureMasks(ids([4], [0, -1, 1, 1]), x, ['x'], 2)).toThrow("feature mask for 'x' holds -1 at flat index 1: ids are integers from 0");
    expect(() => featureMasks('grid:3', x, ['x'], 2)).toThrow("feature mask 'grid:3' is not one of: elements, grid:RxC (e.g. grid:7x7), slic:N (e.g. slic:50), or a tensor of ids");
    expect(() => featureMasks('grid:9x2', { x: f32([1, 1, 8, 8]) }, ['x'], 1)).toThrow("grid 9x2 does not fit input 'x' of 8x8 pixels");
    // an image's worth of ids (150,528) is checked without overflowing the stack
    const big = { x: f32([1, 3, 224, 224]) };
    const ids150k: Tensor = { type: 'int32', dims: [3, 224, 224], data: Int32Array.from({ length: 3 * 224 * 224 }, (_, i) => i) };
    expect(featureMasks(ids150k, big, ['x'], 1)[0].count).toBe(150528);
    // one mask per example is allowed, and each example gets its own
    const per = featureMasks(ids([2, 4], [0, 0, 1, 1, 0, 1, 2, 3]), x, ['x'], 2);
    expect(per.map((p) => p.count)).toEqual([2, 4]);
  });
});

describe('bad options are refused before the model runs', () => {
  const { ex, runs } = summing();
  afterAll(() => ex.release());
  const x = { x: f32([2, 4]) };
  // the model prepared (probed) once, so what follows counts only the method's own runs
  beforeAll(() => featureAblation(ex, x, { target: 'sum' }));
  test.each([
    ['a window larger than the input', () => occlusion(ex, x, { target: 'sum', window: [5] }), 'occlusion window [5] is larger than input \'x\' rows [4] on axis 1 (5 > 4)'],
    ['a window with the wrong number of axes', () => occlusion(ex, x, { target: 'sum', window: [1, 1] }), "window [1, 1] for input 'x' needs one size per axis of its rows [4]"],
    ['a zero window', () => occlusion(ex, x, { target: 'sum', window: [0] }), 'occlusion window sizes must be positive integers, got [0]'],
    ['samples < 1', () => shapleySampling(ex, x, { target: 'sum', samples: 0 }), 'samples must be a positive integer, got 0'],
    ['samples < 1 (kernel shap)', () => kernelShap(ex, x, { target: 'sum', samples: -2 }), 'samples must be a positive integer, got -2'],
    ['a background of the wrong width', () => kernelShap(ex, x, { target: 'sum', background: f32([3, 5]) }), "background for 'x' has shape [3, 5]: its rows must have the input's row shape, [K, 4]"],
    ['a background and baselines', () => kernelShap(ex, x, { target: 'sum', background: f32([3, 4]), baselines: 1 }), 'give a background or baselines to KernelSHAP, not both'],
    ['a baseline of the wrong shape', () => featureAblation(ex, x, { target: 'sum', baselines: f32([3, 4]) }), "the baseline for 'x' has shape [3, 4], expected [4], [1, 4] or [2, 4]"],
    ['a NaN baseline', () => featureAblation(ex, x, { target: 'sum', baselines: NaN }), "the baseline for 'x' is NaN: it must be a finite number"],
    ['a zero kernel width', () => lime(ex, x, { target: 'sum', kernelWidth: 0 }), 'kernelWidth must be a finite number > 0, got 0'],
    ['a negative ridge', () => lime(ex, x, { target: 'sum', ridge: -1 }), 'ridge must be a finite number >= 0, got -1'],
    ['layer attribution', () => featureAblation(ex, x, { target: 'sum', at: 'y' }), "'at' (layer attribution) needs gradients; the perturbation methods vary model inputs: choose them with 'attribute'"],
    ['different masks per example for permutation', () => featurePermutation(ex, x, { target: 'sum', featureMask: { type: 'int32', dims: [2, 4], data: Int32Array.from([0, 0, 1, 1, 0, 1, 1, 1]) } }), "feature permutation needs the same features for every example; example 1's mask differs from example 0's"],
  ])('%s', async (_, call, message) => {
    const before = runs();
    await expect(call()).rejects.toThrow(message);
    // the model did not run
    expect(runs()).toBe(before);
  });
});

test('progress is reported per batch up to the total rows, and an aborted signal stops the method with its reason', async () => {
  const { ex } = summing();
  try {
    const x = { x: f32([1, 4]) };
    const events: ProgressEvent[] = [];
    const r = await kernelShap(ex, x, { target: 'sum', internalBatchSize: 4, onProgress: (e) => events.push(e) });
    expect(r.evaluations).toBe(1 + 1 + 14);
    expect(events.map((e) => e.done)).toEqual([4, 8, 12, 16]);
    expect(events.every((e) => e.total === 16 && e.phase === 'kernel shap')).toBe(true);
    const controller = new AbortController();
    let seen = 0;
    await expect(
      lime(ex, x, { target: 'sum', internalBatchSize: 8, signal: controller.signal, onProgress: () => ++seen === 2 && controller.abort(new CancelledError('stopped by the test')) }),
    ).rejects.toThrow('stopped by the test');
    expect(seen).toBe(2);
  } finally {
    await ex.release();
  }
});

test("bytes (uint8) are ablated as they are: the byte LSTM's drop per byte equals the model run on each ablated input built here", async () => {
  const dir = path.join(repoRoot, 'test/fixtures/lowered');
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'tract_byte_sb_bidi_lstm.json'), 'utf8'));
  const model = decodeModel(fs.readFileSync(path.join(dir, ref.model)));
  const ex = new Explainer(runtime, model);
  const bytes = Uint8Array.from(ref.input_data as number[]);
  const n = bytes.length;
  const target = { index: [2, 1] };
  try {
    const r = await featureAblation(ex, { [ref.input]: { type: 'uint8', dims: [1, n], data: bytes } }, { target, baselines: 32 });
    expect(r.gradientSource).toBe('none');
    const s = await runtime.createSession(model);
    const run = async (b: Uint8Array) => ((await s.run({ [ref.input]: { type: 'uint8', dims: [1, n], data: b } })).output.data as Float32Array)[2 * 2 + 1];
    const fx = await run(bytes);
    expect(r.outputs[0]).toBeCloseTo(fx, 6);
    for (let i = 0; i < n; i++) {
      const b = Uint8Array.from(bytes);
      b[i] = 32;
      expect((r.attributions[ref.input].data as Float32Array)[i]).toBeCloseTo(fx - (await run(b)), 5);
    }
    await s.release();
  } finally {
    await ex.release();
  }
});
