/**
 * onnxruntime's fused transformer ops, lowered (grad/lower/contrib.ts,
 * attention.ts). Each case builds the fused op and, apart, an unfused twin
 * in standard ops written here from ContribOperators.md, with the same
 * inputs; then checks
 *  1. onnxruntime's own contrib kernel against the twin (so the twin, and
 *     our reading of the spec, is what onnxruntime computes), to 1e-5 of
 *     the output's scale;
 *  2. the lowered fused model's forward against the contrib kernel;
 *  3. the float32 gradient of the lowered fused model against float64
 *     central finite differences of the twin (fd.ts), to FD_TOLERANCE.
 * The output differentiated is every output of the op, flattened and
 * concatenated (present states and input_skip_bias_sum included).
 */
import { Attr, DataType, GraphBuilder, lowerModel, makeModel, probeShapes, type ModelProto, type Tensor } from '@onnx-explain/core';
import { runtime, checkGradients, tensor, weighted, FD_TOLERANCE } from './fd';

const MS = { domain: 'com.microsoft' };
type Build = (b: GraphBuilder, x: Record<string, string>) => string[];

interface ContribCase {
  name: string;
  inputs: Record<string, Tensor>;
  /** integer inputs (ids, masks, positions): fed, not differentiated */
  ints?: Record<string, Tensor>;
  fused: Build;
  twin: Build;
  opset?: number;
}

const f = (b: GraphBuilder, v: number[], dims = [v.length]) => b.constant(Float32Array.from(v), dims);
const i64 = (b: GraphBuilder, v: number[]) => b.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
const i32 = (dims: number[], v: number[]): Tensor => ({ type: 'int32', dims, data: Int32Array.from(v) });

function model(c: ContribCase, build: Build): ModelProto {
  const b = new GraphBuilder(c.name);
  const names: Record<string, string> = {};
  for (const [k, t] of Object.entries(c.inputs)) names[k] = b.input(k, DataType.FLOAT, t.dims);
  for (const [k, t] of Object.entries(c.ints ?? {})) names[k] = b.input(k, t.type === 'int64' ? DataType.INT64 : DataType.INT32, t.dims);
  const outs = build(b, names);
  const flat = outs.map((o) => b.op('Reshape', [o, i64(b, [-1])]));
  b.output(flat.length > 1 ? b.op('Concat', flat, { axis: 0 }) : flat[0], DataType.FLOAT);
  return makeModel(b.build(), { opset: c.opset ?? 13, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] });
}

// ---- twins' building blocks, from the spec
const lastAxisNorm = (b: GraphBuilder, x: string, eps: number, simplified: boolean) => {
  const mean = (t: string) => b.op('ReduceMean', [t], { axes: [-1], keepdims: 1 });
  const d = simplified ? x : b.op('Sub', [x, mean(x)]);
  return b.op('Div', [d, b.op('Sqrt', [b.op('Add', [mean(b.op('Mul', [d, d])), f(b, [eps], [])])])]);
};
const tanhGelu = (b: GraphBuilder, x: string) => {
  const x3 = b.op('Mul', [x, b.op('Mul', [x, x])]);
  const inner = b.op('Mul', [f(b, [Math.sqrt(2 / Math.PI)], []), b.op('Add', [x, b.op('Mul', [x3, f(b, [0.044715], [])])])]);
  return b.op('Mul', [b.op('Mul', [x, f(b, [0.5], [])]), b.op('Add', [f(b, [1], []), b.op('Tanh', [inner])])]);
};
/** exact GELU: 0.5 x (1 + erf(x / sqrt 2)) */
const erfGelu = (b: GraphBuilder, x: string) =>
  b.op('Mul', [b.op('Mul', [x, f(b, [0.5], [])]), b.op('Add', [f(b, [1], []), b.op('Erf', [b.op('Mul', [x, f(b, [Math.SQRT1_2], [])])])])]);

const B = 2;
const S = 3;
const H = 8;
const N = 2;
const h = H / N;
let seed = 1;
const T = (dims: number[], scale = 1): Tensor => {
  const t = tensor(dims, 'normal', seed++);
  return { ...t, data: (t.data as Float32Array).map((v) => v * scale) };
};

/** Twin of Attention / MultiHeadAttention's core: q [B,S,D], K, V heads [B,N,T,h]; additive mask [.., S, T] or none. */
function twinAttend(b: GraphBuilder, q: string, K: string, V: string, mask: string | undefined, scale: number): string {
  const heads = (t: string) => b.op('Transpose', [b.op('Reshape', [t, i64(b, [0, 0, N, h])])], { perm: [0, 2, 1, 3] });
  let s = b.op('Mul', [b.op('MatMul', [heads(q), b.op('Transpose', [K], { perm: [0, 1, 3, 2] })]), f(b, [scale], [])]);
  if (mask) s = b.op('Add', [s, mask]);
  const ctx = b.op('MatMul', [b.op('Softmax', [s], { axis: 3 }), V]);
  return b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), i64(b, [0, 0, H])]);
}
const twinHeads = (b: GraphBuilder, t: string) => b.op('Transpose', [b.op('Reshape', [t, i64(b, [0, 0, N, h])])], { perm: [0, 2, 1, 3] });
/** additive mask [B,1,S,T] from a raw 0/1 mask [B,T], filter value, and causal with past length P */
function twinMask(b: GraphBuilder, raw: string | undefined, filter: number, causal: boolean, past: number): string {
  const total = past + S;
  let add = raw
    ? b.op('Unsqueeze', [b.op('Mul', [b.op('Sub', [f(b, [1], []), b.op('Cast', [raw], { to: DataType.FLOAT })]), f(b, [filter], [])]), i64(b, [1, 2])])
    : f(b, [0], []);
  if (causal) {
    const fut: number[] = [];
    for (let s = 0; s < S; s++) for (let m = 0; m < total; m++) fut.push(m > past + s ? 1 : 0);
    add = b.op('Where', [b.op('Cast', [f(b, fut, [S, total])], { to: DataType.BOOL }), f(b, [-3.4028234663852886e38], []), add]);
  }
  return add;
}

const cases: ContribCase[] = [
  {
    name: 'FastGelu with bias',
    inputs: { x: T([B, S, H]), bias: T([H]) },
    fused: (b, x) => [b.op('FastGelu', [x.x, x.bias], {}, MS)],
    twin: (b, x) => [tanhGelu(b, b.op('Add', [x.x, x.bias]))],
  },
  {
    name: 'FastGelu without bias',
    inputs: { x: T([B, S, H]) },
    fused: (b, x) => [b.op('FastGelu', [x.x], {}, MS)],
    twin: (b, x) => [tanhGelu(b, x.x)],
  },
  {
    name: 'Gelu (com.microsoft, erf)',
    inputs: { x: T([B, S, H]) },
    fused: (b, x) => [b.op('Gelu', [x.x], {}, MS)],
    twin: (b, x) => [erfGelu(b, x.x)],
  },
  {
    name: 'BiasGelu',
    inputs: { x: T([B, S, H]), bias: T([H]) },
    fused: (b, x) => [b.op('BiasGelu', [x.x, x.bias], {}, MS)],
    twin: (b, x) => [erfGelu(b, b.op('Add', [x.x, x.bias]))],
  },
  {
    name: 'QuickGelu alpha 1.3',
    inputs: { x: T([B, S, H]) },
    fused: (b, x) => [b.op('QuickGelu', [x.x], { alpha: 1.3 }, MS)],
    twin: (b, x) => [b.op('Mul', [x.x, b.op('Sigmoid', [b.op('Mul', [x.x, f(b, [1.3], [])])])])],
  },
  {
    name: 'SkipLayerNormalization with beta, bias, and the sum output',
    inputs: { x: T([B, S, H]), skip: T([B, S, H]), gamma: T([H]), beta: T([H]), bias: T([H]) },
    fused: (b, x) => {
      const o = b.opN('SkipLayerNormalization', [x.x, x.skip, x.gamma, x.beta, x.bias], 4, { epsilon: 1e-5 }, MS);
      return [o[0], o[3]];
    },
    twin: (b, x) => {
      const s = b.op('Add', [b.op('Add', [x.x, x.skip]), x.bias]);
      return [b.op('Add', [b.op('Mul', [lastAxisNorm(b, s, 1e-5, false), x.gamma]), x.beta]), s];
    },
  },
  {
    name: 'SkipLayerNormalization, default epsilon, no beta or bias',
    inputs: { x: T([B, S, H]), skip: T([B, S, H]), gamma: T([H]) },
    fused: (b, x) => [b.op('SkipLayerNormalization', [x.x, x.skip, x.gamma], {}, MS)],
    twin: (b, x) => [b.op('Mul', [lastAxisNorm(b, b.op('Add', [x.x, x.skip]), 1e-12, false), x.gamma])],
  },
  {
    name: 'SkipSimplifiedLayerNormalization with bias and the sum output',
    inputs: { x: T([B, S, H]), skip: T([B, S, H]), gamma: T([H]), bias: T([H]) },
    fused: (b, x) => {
      const o = b.opN('SkipSimplifiedLayerNormalization', [x.x, x.skip, x.gamma, x.bias], 4, { epsilon: 1e-5 }, MS);
      return [o[0], o[3]];
    },
    twin: (b, x) => {
      const s = b.op('Add', [b.op('Add', [x.x, x.skip]), x.bias]);
      return [b.op('Mul', [lastAxisNorm(b, s, 1e-5, true), x.gamma]), s];
    },
  },
  {
    name: 'SimplifiedLayerNormalization (default domain, as onnxruntime registers it)',
    inputs: { x: T([B, S, H]), scale: T([H]) },
    fused: (b, x) => [b.op('SimplifiedLayerNormalization', [x.x, x.scale], { epsilon: 1e-5 })],
    twin: (b, x) => [b.op('Mul', [lastAxisNorm(b, x.x, 1e-5, true), x.scale])],
  },
  {
    name: 'LayerNormalization at opset 13 (onnxruntime contrib in the default domain)',
    inputs: { x: T([B, S, H]), scale: T([H]), bias: T([H]) },
    fused: (b, x) => [b.op('LayerNormalization', [x.x, x.scale, x.bias], { epsilon: 1e-5 })],
    twin: (b, x) => [b.op('Add', [b.op('Mul', [lastAxisNorm(b, x.x, 1e-5, false), x.scale]), x.bias])],
  },
  {
    name: 'EmbedLayerNormalization with segments, position ids and the embedding sum',
    inputs: { word: T([11, H]), pos: T([6, H]), seg: T([2, H]), gamma: T([H]), beta: T([H]) },
    ints: { ids: i32([B, S], [3, 7, 1, 10, 0, 4]), segs: i32([B, S], [0, 0, 1, 0, 1, 1]), posIds: i32([B, S], [2, 3, 4, 0, 1, 2]) },
    fused: (b, x) => {
      const o = b.opN('EmbedLayerNormalization', [x.ids, x.segs, x.word, x.pos, x.seg, x.gamma, x.beta, '', x.posIds], 3, { epsilon: 1e-5 }, MS);
      return [o[0], o[2]];
    },
    twin: (b, x) => {
      const g = (t: string, i: string) => b.op('Gather', [t, i], { axis: 0 });
      const s = b.op('Add', [b.op('Add', [g(x.word, x.ids), g(x.pos, x.posIds)]), g(x.seg, x.segs)]);
      return [b.op('Add', [b.op('Mul', [lastAxisNorm(b, s, 1e-5, false), x.gamma]), x.beta]), s];
    },
  },
  {
    name: 'EmbedLayerNormalization, default positions, default epsilon',
    inputs: { word: T([11, H]), pos: T([6, H]), gamma: T([H]), beta: T([H]) },
    ints: { ids: i32([B, S], [3, 7, 1, 10, 0, 4]) },
    fused: (b, x) => [b.opN('EmbedLayerNormalization', [x.ids, '', x.word, x.pos, '', x.gamma, x.beta], 2, {}, MS)[0]],
    twin: (b, x) => {
      const s = b.op('Add', [b.op('Gather', [x.word, x.ids], { axis: 0 }), b.op('Slice', [x.pos, i64(b, [0]), i64(b, [S]), i64(b, [0])])]);
      return [b.op('Add', [b.op('Mul', [lastAxisNorm(b, s, 1e-12, false), x.gamma]), x.beta])];
    },
  },
  {
    name: 'Attention: GPT-2 style, past, unidirectional, raw mask, lowest filter value',
    inputs: { x: T([B, S, H]), w: T([H, 3 * H], 0.5), bias: T([3 * H], 0.3), past: T([2, B, N, 2, h]) },
    ints: { mask: i32([B, 2 + S], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1]) },
    fused: (b, x) => b.opN('Attention', [x.x, x.w, x.bias, x.mask, x.past], 2, { num_heads: N, unidirectional: 1, mask_filter_value: Attr.float(-3.4028234663852886e38) }, MS),
    twin: (b, x) => {
      const [q, k, v] = b.opN('Split', [b.op('Add', [b.op('MatMul', [x.x, x.w]), x.bias]), i64(b, [H, H, H])], 3, { axis: 2 });
      const pk = b.op('Gather', [x.past, b.constant(BigInt64Array.from([0n]), [])], { axis: 0 });
      const pv = b.op('Gather', [x.past, b.constant(BigInt64Array.from([1n]), [])], { axis: 0 });
      const K = b.op('Concat', [pk, twinHeads(b, k)], { axis: 2 });
      const V = b.op('Concat', [pv, twinHeads(b, v)], { axis: 2 });
      const present = b.op('Concat', [b.op('Unsqueeze', [K, i64(b, [0])]), b.op('Unsqueeze', [V, i64(b, [0])])], { axis: 0 });
      return [twinAttend(b, q, K, V, twinMask(b, x.mask, -3.4028234663852886e38, true, 2), 1 / Math.sqrt(h)), present];
    },
  },
  {
    name: 'Attention: encoder, end-position mask [B], scale, qkv_hidden_sizes',
    inputs: { x: T([B, S, H]), w: T([H, 3 * H], 0.5), bias: T([3 * H], 0.3) },
    ints: { ends: i32([B], [2, 3]) },
    fused: (b, x) => [b.op('Attention', [x.x, x.w, x.bias, x.ends], { num_heads: N, scale: 0.3, qkv_hidden_sizes: [H, H, H] }, MS)],
    twin: (b, x) => {
      const [q, k, v] = b.opN('Split', [b.op('Add', [b.op('MatMul', [x.x, x.w]), x.bias]), i64(b, [H, H, H])], 3, { axis: 2 });
      // key m kept where m < end[b]: [B, T] raw mask built by comparison
      const raw = b.op('Less', [b.constant(Int32Array.from([0, 1, 2]), [1, S], { dataType: DataType.INT32 }), b.op('Unsqueeze', [x.ends, i64(b, [1])])]);
      return [twinAttend(b, q, twinHeads(b, k), twinHeads(b, v), twinMask(b, raw, -10000, false, 0), 0.3)];
    },
  },
  {
    name: 'MultiHeadAttention: bias, key padding mask, past key and value',
    inputs: { q: T([B, S, H]), k: T([B, S, H]), v: T([B, S, H]), bias: T([3 * H], 0.3), pk: T([B, N, 1, h]), pv: T([B, N, 1, h]) },
    ints: { mask: i32([B, 1 + S], [1, 1, 1, 0, 1, 1, 1, 1]) },
    fused: (b, x) => b.opN('MultiHeadAttention', [x.q, x.k, x.v, x.bias, x.mask, '', x.pk, x.pv], 3, { num_heads: N }, MS),
    twin: (b, x) => {
      const part = (i: number) => b.op('Slice', [x.bias, i64(b, [i * H]), i64(b, [(i + 1) * H]), i64(b, [0])]);
      const K = b.op('Concat', [x.pk, twinHeads(b, b.op('Add', [x.k, part(1)]))], { axis: 2 });
      const V = b.op('Concat', [x.pv, twinHeads(b, b.op('Add', [x.v, part(2)]))], { axis: 2 });
      return [twinAttend(b, b.op('Add', [x.q, part(0)]), K, V, twinMask(b, x.mask, -10000, false, 1), 1 / Math.sqrt(h)), K, V];
    },
  },
  {
    name: 'RotaryEmbedding (com.microsoft): 3-D input, position ids [B, S], halves',
    inputs: { x: T([B, S, H]), cos: T([6, h / 2]), sin: T([6, h / 2]) },
    ints: { pos: { type: 'int64', dims: [B, S], data: BigInt64Array.from([0n, 1n, 2n, 3n, 5n, 4n]) } },
    fused: (b, x) => [b.op('RotaryEmbedding', [x.x, x.pos, x.cos, x.sin], { num_heads: N }, MS)],
    twin: (b, x) => {
      const heads = b.op('Reshape', [x.x, i64(b, [0, 0, N, h])]);
      const [x1, x2] = b.opN('Split', [heads, i64(b, [h / 2, h / 2])], 2, { axis: 3 });
      const angle = (t: string) => b.op('Unsqueeze', [b.op('Gather', [t, x.pos], { axis: 0 }), i64(b, [2])]);
      const [cos, sin] = [angle(x.cos), angle(x.sin)];
      const real = b.op('Sub', [b.op('Mul', [cos, x1]), b.op('Mul', [sin, x2])]);
      const imag = b.op('Add', [b.op('Mul', [sin, x1]), b.op('Mul', [cos, x2])]);
      return [b.op('Reshape', [b.op('Concat', [real, imag], { axis: 3 }), i64(b, [0, 0, H])])];
    },
  },
  {
    name: 'RotaryEmbedding (com.microsoft): 4-D input, one position offset, interleaved, rotary_embedding_dim 2 of 4',
    inputs: { x: T([B, N, S, h]), cos: T([8, 1]), sin: T([8, 1]) },
    ints: { pos: { type: 'int64', dims: [1], data: BigInt64Array.from([2n]) } },
    fused: (b, x) => [b.op('RotaryEmbedding', [x.x, x.pos, x.cos, x.sin], { interleaved: 1, rotary_embedding_dim: 2, num_heads: N }, MS)],
    twin: (b, x) => {
      // positions 2, 3, 4; pairs (0, 1) rotated, features 2 and 3 passed through
      const at = (t: string) => b.op('Unsqueeze', [b.op('Slice', [t, i64(b, [2]), i64(b, [2 + S]), i64(b, [0])]), i64(b, [0, 1])]);
      const [cos, sin] = [at(x.cos), at(x.sin)];
      const f = (from: number, to: number) => b.op('Slice', [x.x, i64(b, [from]), i64(b, [to]), i64(b, [3])]);
      const [x1, x2] = [f(0, 1), f(1, 2)];
      const real = b.op('Sub', [b.op('Mul', [cos, x1]), b.op('Mul', [sin, x2])]);
      const imag = b.op('Add', [b.op('Mul', [sin, x1]), b.op('Mul', [cos, x2])]);
      return [b.op('Concat', [real, imag, f(2, 4)], { axis: 3 })];
    },
  },
];

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  test('contrib kernel = twin; lowered = contrib kernel; lowered gradient = float64 finite differences of the twin', async () => {
    const feeds = { ...c.inputs, ...(c.ints ?? {}) };
    const fused = model(c, c.fused);
    const twin = model(c, c.twin);
    const run = async (m: ModelProto) => {
      const s = await runtime.createSession(m);
      const out = Object.values(await s.run(feeds))[0];
      await s.release();
      return out;
    };
    const kernel = await run(fused);
    const ref = (await run(twin)).data as Float32Array;
    const scale = Math.max(...Array.from(ref, Math.abs));
    const offBy = (y: ArrayLike<number>) => Math.max(...Array.from(ref, (v, i) => Math.abs(v - y[i])));
    expect(kernel.data.length).toBe(ref.length);
    expect(offBy(kernel.data as Float32Array)).toBeLessThan(1e-5 * scale);
    const shapes = await probeShapes(runtime, fused, feeds, []);
    const lowered = lowerModel(fused, shapes);
    expect(lowered.refused).toEqual([]);
    expect(lowered.lowered).toHaveLength(1);
    expect(offBy((await run(lowered.model)).data as Float32Array)).toBeLessThan(1e-5 * scale);
    const wrt = Object.keys(c.inputs);
    const dims = kernel.dims as number[];
    const res = await checkGradients(weighted(twin, dims), feeds, wrt, undefined, weighted(lowered.model, dims));
    for (const w of wrt) expect(res.relErr[w]).toBeLessThan(FD_TOLERANCE);
  });
});

/**
 * ONNX Attention (opset 23), lowered: against onnxruntime's own kernel
 * (forward) and float64 finite differences of the op itself (onnxruntime
 * has a double kernel for it). `pnpm wild` runs the 57 float32 node tests of
 * the op the same way.
 */
describe('Attention (opset 23)', () => {
  const A23: { name: string; inputs: Record<string, Tensor>; bool?: Record<string, Tensor>; ins: string[]; attrs: Record<string, unknown>; outputs: number }[] = [
    {
      name: '4-D, grouped-query heads (6 on 2), past key and value, boolean mask',
      inputs: { q: T([B, 6, S, 4]), k: T([B, 2, S, 4]), v: T([B, 2, S, 5]), pk: T([B, 2, 2, 4]), pv: T([B, 2, 2, 5]) },
      bool: { m: { type: 'bool', dims: [S, S + 2], data: Uint8Array.from([1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1]) } },
      ins: ['q', 'k', 'v', 'm', 'pk', 'pv'],
      attrs: {},
      outputs: 3,
    },
    {
      name: '3-D, causal, softcap, scale',
      inputs: { q: T([B, S, 8]), k: T([B, S, 8]), v: T([B, S, 8]) },
      ins: ['q', 'k', 'v'],
      attrs: { q_num_heads: 2, kv_num_heads: 2, is_causal: 1, softcap: Attr.float(2), scale: Attr.float(0.4) },
      outputs: 1,
    },
    {
      name: '4-D, additive float mask [B, 1, S, T]',
      inputs: { q: T([B, 2, S, 4]), k: T([B, 2, 5, 4]), v: T([B, 2, 5, 4]), m: T([B, 1, S, 5], 0.5) },
      ins: ['q', 'k', 'v', 'm'],
      attrs: {},
      outputs: 1,
    },
  ];
  test.each(A23.map((c) => [c.name, c] as const))('%s: lowered = kernel; gradient = float64 finite differences', async (_n, c) => {
    const b = new GraphBuilder('attention23');
    for (const [k, t] of Object.entries(c.inputs)) b.input(k, DataType.FLOAT, t.dims);
    for (const [k, t] of Object.entries(c.bool ?? {})) b.input(k, DataType.BOOL, t.dims);
    const outs = b.opN('Attention', c.ins, c.outputs, c.attrs as never);
    const flat = outs.map((o) => b.op('Reshape', [o, b.constant(BigInt64Array.from([-1n]), [1])]));
    b.output(flat.length > 1 ? b.op('Concat', flat, { axis: 0 }) : flat[0], DataType.FLOAT);
    const model = makeModel(b.build(), { opset: 23 });
    const feeds = { ...c.inputs, ...(c.bool ?? {}) };
    const s = await runtime.createSession(model);
    const kernel = Object.values(await s.run(feeds))[0];
    await s.release();
    const lowered = lowerModel(model, await probeShapes(runtime, model, feeds, []));
    expect(lowered.refused).toEqual([]);
    const s2 = await runtime.createSession(lowered.model);
    const mine = Object.values(await s2.run(feeds))[0].data as Float32Array;
    await s2.release();
    const k = kernel.data as Float32Array;
    const scale = Math.max(...Array.from(k, Math.abs));
    expect(Math.max(...Array.from(k, (v, i) => Math.abs(v - mine[i])))).toBeLessThan(1e-5 * scale);
    const wrt = Object.keys(c.inputs);
    const res = await checkGradients(weighted(model, kernel.dims as number[]), feeds, wrt, undefined, weighted(lowered.model, kernel.dims as number[]));
    for (const w of wrt) expect(res.relErr[w]).toBeLessThan(FD_TOLERANCE);
  });
});
