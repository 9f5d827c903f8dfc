/**
 * A BERT-style encoder fused by hand into onnxruntime's contrib ops, as its
 * transformer optimizer fuses one (EmbedLayerNormalization with a mask,
 * whose mask_index feeds every Attention as end positions;
 * SkipLayerNormalization after attention and after the feed-forward block;
 * BiasGelu), against its unfused twin in standard ops with the same
 * weights: the same logits from onnxruntime's contrib kernels, and the same
 * gradients at the embedding sum through the Explainer, the fused model by
 * lowering, the twin by the ordinary rules.
 */
import { Explainer, saliency, integratedGradients, DataType, GraphBuilder, makeModel, type ModelProto, type Tensor } from '@onnx-explain/core';
import { runtime, relL2, values } from './fd';

const B = 2;
const S = 4;
const H = 8;
const N = 2;
const V = 13;
const LAYERS = 2;
const EPS = 1e-5;
const MS = { domain: 'com.microsoft' };

let seed = 11;
const W = (dims: number[], scale = 0.4) => values(dims.reduce((a, b) => a * b, 1), 'normal', seed++).map((v) => v * scale);
const weights = {
  word: W([V, H], 1),
  pos: W([S, H], 0.5),
  g0: W([H], 0.2).map((v) => 1 + v),
  b0: W([H], 0.1),
  layers: Array.from({ length: LAYERS }, () => ({
    qkv: W([H, 3 * H]),
    qkvBias: W([3 * H], 0.1),
    wo: W([H, H]),
    bo: W([H], 0.1),
    g1: W([H], 0.2).map((v) => 1 + v),
    b1: W([H], 0.1),
    w1: W([H, 2 * H]),
    c1: W([2 * H], 0.1),
    w2: W([2 * H, H]),
    c2: W([H], 0.1),
    g2: W([H], 0.2).map((v) => 1 + v),
    b2: W([H], 0.1),
  })),
  head: W([H, 2]),
};

function encoder(fused: boolean): { model: ModelProto; embeddingSum: string } {
  const b = new GraphBuilder(fused ? 'bert_fused' : 'bert_unfused');
  const c = (v: Float32Array, dims: number[]) => b.constant(v, dims);
  const i64 = (v: number[]) => b.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
  const f = (v: number) => b.constant(Float32Array.from([v]), []);
  const ids = b.input('ids', DataType.INT32, ['batch', S]);
  const mask = b.input('mask', DataType.INT32, ['batch', S]);
  const ln = (x: string, g: Float32Array, beta: Float32Array) => {
    const mean = (t: string) => b.op('ReduceMean', [t], { axes: [-1], keepdims: 1 });
    const d = b.op('Sub', [x, mean(x)]);
    const norm = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [mean(b.op('Mul', [d, d])), f(EPS)])])]);
    return b.op('Add', [b.op('Mul', [norm, c(g, [H])]), c(beta, [H])]);
  };
  let x: string;
  let sum: string;
  let maskIndex = '';
  let additive = '';
  if (fused) {
    [x, maskIndex, sum] = b.opN('EmbedLayerNormalization', [ids, '', c(weights.word, [V, H]), c(weights.pos, [S, H]), '', c(weights.g0, [H]), c(weights.b0, [H]), mask], 3, { epsilon: EPS }, MS);
  } else {
    sum = b.op('Add', [b.op('Gather', [c(weights.word, [V, H]), ids], { axis: 0 }), c(weights.pos, [S, H])]);
    x = ln(sum, weights.g0, weights.b0);
    // (1 - mask) * -10000, [B, 1, 1, S]
    additive = b.op('Unsqueeze', [b.op('Mul', [b.op('Sub', [f(1), b.op('Cast', [mask], { to: DataType.FLOAT })]), f(-10000)])], { axes: [1, 2] });
  }
  for (const L of weights.layers) {
    let attn: string;
    if (fused) {
      attn = b.op('Attention', [x, c(L.qkv, [H, 3 * H]), c(L.qkvBias, [3 * H]), maskIndex], { num_heads: N }, MS);
    } else {
      const [q, k, v] = b.opN('Split', [b.op('Add', [b.op('MatMul', [x, c(L.qkv, [H, 3 * H])]), c(L.qkvBias, [3 * H])])], 3, { axis: 2, split: [H, H, H] });
      const heads = (t: string) => b.op('Transpose', [b.op('Reshape', [t, i64([0, 0, N, H / N])])], { perm: [0, 2, 1, 3] });
      const scores = b.op('Add', [b.op('Div', [b.op('MatMul', [heads(q), b.op('Transpose', [heads(k)], { perm: [0, 1, 3, 2] })]), f(Math.sqrt(H / N))]), additive]);
      const ctx = b.op('MatMul', [b.op('Softmax', [scores], { axis: 3 }), heads(v)]);
      attn = b.op('Reshape', [b.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), i64([0, 0, H])]);
    }
    const proj = b.op('MatMul', [attn, c(L.wo, [H, H])]);
    const x1 = fused
      ? b.op('SkipLayerNormalization', [proj, x, c(L.g1, [H]), c(L.b1, [H]), c(L.bo, [H])], { epsilon: EPS }, MS)
      : ln(b.op('Add', [b.op('Add', [proj, x]), c(L.bo, [H])]), L.g1, L.b1);
    const h1 = b.op('MatMul', [x1, c(L.w1, [H, 2 * H])]);
    const act = fused
      ? b.op('BiasGelu', [h1, c(L.c1, [2 * H])], {}, MS)
      : (() => {
          const z = b.op('Add', [h1, c(L.c1, [2 * H])]);
          return b.op('Mul', [b.op('Mul', [z, f(0.5)]), b.op('Add', [f(1), b.op('Erf', [b.op('Mul', [z, f(Math.SQRT1_2)])])])]);
        })();
    const h2 = b.op('MatMul', [act, c(L.w2, [2 * H, H])]);
    x = fused
      ? b.op('SkipLayerNormalization', [h2, x1, c(L.g2, [H]), c(L.b2, [H]), c(L.c2, [H])], { epsilon: EPS }, MS)
      : ln(b.op('Add', [b.op('Add', [h2, x1]), c(L.c2, [H])]), L.g2, L.b2);
  }
  const logits = b.op('ReduceMean', [b.op('MatMul', [x, c(weights.head, [H, 2])])], { axes: [1], keepdims: 0 }, { output: 'logits' });
  b.output(logits, DataType.FLOAT, ['batch', 2]);
  return { model: makeModel(b.build(), { opset: 12, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] }), embeddingSum: sum };
}

const inputs: Record<string, Tensor> = {
  ids: { type: 'int32', dims: [B, S], data: Int32Array.from([3, 7, 1, 12, 5, 9, 0, 0]) },
  // the second row is padded: its last two positions are masked out
  mask: { type: 'int32', dims: [B, S], data: Int32Array.from([1, 1, 1, 1, 1, 1, 0, 0]) },
};

describe('a BERT-style encoder fused into contrib ops, against its unfused twin', () => {
  const fused = encoder(true);
  const twin = encoder(false);

  test('onnxruntime computes the same logits from both', async () => {
    const run = async (m: ModelProto) => {
      const s = await runtime.createSession(m);
      const out = (await s.run(inputs)).logits.data as Float32Array;
      await s.release();
      return out;
    };
    expect(relL2(await run(fused.model), await run(twin.model))).toBeLessThan(1e-5);
  });

  test('saliency and IG at the embedding sum agree: fused through its lowering, twin through the rules', async () => {
    const a = new Explainer(runtime, fused.model);
    const b = new Explainer(runtime, twin.model);
    try {
      const ga = await saliency(a, inputs, { at: fused.embeddingSum, target: 1, abs: false });
      const gb = await saliency(b, inputs, { at: twin.embeddingSum, target: 1, abs: false });
      expect(ga.gradientSource).toBe('graph');
      expect(gb.gradientSource).toBe('graph');
      expect(ga.lowered).toHaveLength(1 + 3 * LAYERS + LAYERS);
      expect(gb.lowered).toBeUndefined();
      const da = ga.attributions[fused.embeddingSum].data as Float32Array;
      const db = gb.attributions[twin.embeddingSum].data as Float32Array;
      expect(Math.max(...Array.from(db, Math.abs))).toBeGreaterThan(1e-3);
      expect(relL2(da, db)).toBeLessThan(1e-4);
      const ia = await integratedGradients(a, inputs, { at: fused.embeddingSum, target: 1, steps: 16 });
      const ib = await integratedGradients(b, inputs, { at: twin.embeddingSum, target: 1, steps: 16 });
      expect(relL2(ia.attributions[fused.embeddingSum].data as Float32Array, ib.attributions[twin.embeddingSum].data as Float32Array)).toBeLessThan(1e-4);
      ia.delta.forEach((d, i) => expect(d).toBeCloseTo(ib.delta[i], 4));
    } finally {
      await a.release();
      await b.release();
    }
  });
});
