/**
 * Text models as users have them: the shipped BERT-style classifier and
 * GPT-2 style decoder (models/make_text_models.py) with their tokenizer.json
 * files, against the PyTorch references the same script computed on float64
 * copies of the weights (test/fixtures/text/text_refs.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, GraphBuilder, makeModel, decodeModel, Explainer, explainWith, type Tensor, TextTokenizer, explainText, explainGeneration, textFeeds, wordEmbedding, idsInput, tokenLogProbsModel, type GenerationExplanation } from '@onnx-explain/core';
import { runtime, relL2 } from '../grad/fd';
import { repoRoot } from '../helpers/ort';

const refs = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/text/text_refs.json'), 'utf8'));
const model = (f: string) => decodeModel(fs.readFileSync(path.join(repoRoot, 'models', f)));
const tokenizer = (f: string) => new TextTokenizer(fs.readFileSync(path.join(repoRoot, 'models', f), 'utf8'));
const bertTok = tokenizer('sentiment_bert.tokenizer.json');
const gptTok = tokenizer('facts_gpt.tokenizer.json');


describe('tokenizers: the ids the Python side trained with', () => {
  test.each(refs.tokenizers.map((r: any) => [JSON.stringify(r.text), r]))('%s', (_, r: any) => {
    expect(bertTok.encode(r.text).ids).toEqual(r.bert);
    expect(gptTok.encode(r.text).ids).toEqual(r.gpt);
  });

  test('special tokens, padding and end-of-text are found from the file', () => {
    const e = bertTok.encode('the movie was great .');
    expect(e.special).toEqual([true, false, false, false, false, false, true]);
    expect(bertTok.display(bertTok.padId!)).toBe('[PAD]');
    expect(gptTok.display(gptTok.eosId!)).toBe('<|endoftext|>');
    expect(gptTok.display(gptTok.encode(' paris').ids[0])).toBe(' paris');
  });

  test('a file that is not a tokenizer is refused in a line', () => {
    expect(() => new TextTokenizer('{"vocab": {}}')).toThrow(/not a Hugging Face tokenizer\.json: no "model" object/);
    expect(() => new TextTokenizer('{oops')).toThrow(/tokenizer\.json is not JSON/);
  });
});

describe('the BERT-style classifier: IG at the word embeddings equals PyTorch autograd IG', () => {
  const ex = new Explainer(runtime, model('sentiment_bert.onnx'));
  afterAll(() => ex.release());

  test('the token embedding is the Gather on word_embeddings, not the position or token-type lookups', () => {
    expect(idsInput(ex.summary)).toBe('input_ids');
    expect(wordEmbedding(ex.model, 'input_ids').output).toBe('/word_embeddings/Gather_output_0');
  });

  test.each(refs.classifier.map((c: any) => [`${c.text} (${c.baseline} baseline)`, c]))('%s', async (_, c: any) => {
    const r = await explainText(ex, bertTok, c.text, { method: 'ig', steps: c.steps, baseline: c.baseline });
    expect(r.ids).toEqual(c.ids);
    expect(r.result.classes).toEqual([c.target]);
    const attr = r.result.attributions['/word_embeddings/Gather_output_0'];
    expect(attr.dims).toEqual([1, c.ids.length, 32]);
    expect(relL2(attr.data as Float32Array, c.attributions.data)).toBeLessThan(1e-3);
    expect(relL2(r.scores, c.tokenScores)).toBeLessThan(1e-3);
    // the pad baseline keeps [CLS] and [SEP]: their rows of the path do not move, so their scores are exactly 0
    if (c.baseline === 'pad') {
      expect(r.scores[0]).toBe(0);
      expect(r.scores[r.scores.length - 1]).toBe(0);
    }
    expect(r.result.outputs[0]).toBeCloseTo(c.output, 4);
    expect(r.result.baselineOutputs![0]).toBeCloseTo(c.baselineOutput, 4);
    // the completeness gap (Captum's sign: sum of attributions less F(x) - F(baseline)) equals the reference's own
    const refDelta = c.tokenScores.reduce((a: number, b: number) => a + b, 0) - (c.output - c.baselineOutput);
    expect(Math.abs(r.result.delta![0] - refDelta)).toBeLessThan(1e-3 * Math.abs(c.output - c.baselineOutput));
  });

  test('a padded batch of two: each row equals its own reference, the mask holds the pads out', async () => {
    const b = refs.classifierBatch;
    const encs = b.texts.map((t: string) => bertTok.encode(t));
    const inputs = textFeeds(ex.summary, encs, bertTok.padId);
    expect(Array.from(inputs.input_ids.data as BigInt64Array, Number)).toEqual(b.ids.data);
    expect(Array.from(inputs.attention_mask.data as BigInt64Array, Number)).toEqual(b.attentionMask.data);
    const pads = { ...inputs, input_ids: { ...inputs.input_ids, data: BigInt64Array.from(b.ids.data.map((id: number) => BigInt(id === 2 || id === 3 ? id : 0))) } };
    const { integratedGradients } = await import('@onnx-explain/core');
    const r = await integratedGradients(ex, inputs, { at: '/word_embeddings/Gather_output_0', steps: b.steps, baselines: { inputs: pads }, target: b.targets });
    const a = r.attributions['/word_embeddings/Gather_output_0'].data as Float32Array;
    const per = a.length / 2;
    for (let row = 0; row < 2; row++) {
      expect(relL2(a.subarray(row * per, (row + 1) * per), b.rows[row].attributions.data)).toBeLessThan(1e-3);
      expect(r.outputs[row]).toBeCloseTo(b.rows[row].output, 4);
    }
    // the shorter text's padded positions are masked out of attention: no attribution reaches them
    const len0 = encs[0].ids.length;
    const padded = a.subarray(len0 * 32, per);
    expect(Math.max(...Array.from(padded, Math.abs))).toBeLessThan(1e-6);
  });

  test.each([
    ['lrp', /lrp: no LRP rule for ReduceMean .*Softmax \(\/layers\.0\/attn\/Softmax, \/layers\.1\/attn\/Softmax\); Erf .* on the way from '\/word_embeddings\/Gather_output_0' to the output .*explain it with ig or deeplift/],
    ['deeplift-shap', /deeplift-shap takes rows of a baseline distribution .* use deeplift .* or gradient-shap/],
    ['grad-cam', /grad-cam attributes at a convolution layer of an image model/],
    ['tree-shap', /tree-shap reads tree ensembles/],
    ['feature-permutation', /feature-permutation swaps features between examples/],
  ])('%s is refused for a transformer with why, before any run', async (method, message) => {
    await expect(explainText(ex, bertTok, 'the plot was good .', { method: method as any })).rejects.toThrow(message);
  });

  test('deeplift-shap itself refuses a layer, and a model without float inputs, before any run (it used to crash inside onnxruntime)', async () => {
    const inputs = textFeeds(ex.summary, [{ ids: bertTok.encode('the plot was good .').ids }]);
    const rows: Tensor = { type: 'float32', dims: [2, 7, 32], data: new Float32Array(2 * 7 * 32) };
    await expect(explainWith(ex, inputs, { method: 'deeplift-shap', at: '/word_embeddings/Gather_output_0', baselines: rows })).rejects.toThrow(/deeplift-shap pairs each example with rows of a baseline distribution .* at a layer \('\/word_embeddings\/Gather_output_0'\)/);
    await expect(explainWith(ex, inputs, { method: 'deeplift-shap', baselines: rows })).rejects.toThrow(/deeplift-shap attributes floating-point inputs and the model has none/);
  });

  test('the other gradient methods at the embeddings: input x gradient is the embedding times its gradient, summed per token', async () => {
    const r = await explainText(ex, bertTok, 'the plot was good .', { method: 'input-x-gradient' });
    const s = await explainText(ex, bertTok, 'the plot was good .', { method: 'saliency' });
    expect(r.result.at).toBe('/word_embeddings/Gather_output_0');
    // saliency is |gradient| summed: every token scores above 0; input x gradient keeps signs
    expect(s.scores.every((v) => v > 0)).toBe(true);
    expect(r.scores.some((v) => v < 0) && r.scores.some((v) => v > 0)).toBe(true);
  });

  test('feature ablation over tokens: each token becomes [PAD] ([CLS]/[SEP] kept) and scores F(x) - F(without it)', async () => {
    const text = 'honestly , the plot was not good .';
    const r = await explainText(ex, bertTok, text, { method: 'feature-ablation' });
    const enc = bertTok.encode(text);
    const s = await runtime.createSession(ex.model);
    const run = async (ids: number[]) => {
      const out = await s.run(textFeeds(ex.summary, [{ ids }]));
      return (out.logits.data as Float32Array)[r.result.classes![0]];
    };
    const full = await run(enc.ids);
    for (let i = 0; i < enc.ids.length; i++) {
      const ids = enc.ids.map((id, k) => (k === i && !enc.special[i] ? bertTok.padId! : id));
      expect(r.scores[i]).toBeCloseTo(full - (await run(ids)), 4);
    }
    await s.release();
    // 'not' decides the negative class, as IG says
    const top = r.scores.indexOf(Math.max(...r.scores));
    expect(r.tokens[top]).toBe('not');
  });
});

function checkGeneration(g: GenerationExplanation, c: any, kind: 'ig' | 'ablation') {
  expect(g.ids).toEqual(c.ids);
  // one pass over the whole sequence served every row: nothing reached the tokens after each row's position
  expect(g.causal).toBe(true);
  expect(g.generated.map((x) => x.id)).toEqual(c.generated);
  g.generated.forEach((row, k) => {
    expect(row.scores).toHaveLength(c.promptIds.length + k);
    if (kind === 'ig') {
      const ref = c.ig[k];
      expect(relL2(row.scores, ref.scores)).toBeLessThan(1e-3);
      expect(row.logProb).toBeCloseTo(ref.logProb, 4);
      expect(row.baselineLogProb!).toBeCloseTo(ref.baselineLogProb, 3);
      // completeness per position: the row sums to log p(x) - log p(baseline) but for the gap reported, and the gap is the reference's
      const sum = row.scores.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - row.delta! - (row.logProb - row.baselineLogProb!))).toBeLessThan(1e-4);
      const refSum = ref.scores.reduce((a: number, b: number) => a + b, 0);
      expect(Math.abs(row.delta! - (refSum - (ref.logProb - ref.baselineLogProb)))).toBeLessThan(Math.max(1e-6, 1e-3 * Math.abs(ref.logProb - ref.baselineLogProb)));
    } else {
      expect(relL2(row.scores, c.ablation[k])).toBeLessThan(1e-3);
    }
  });
  expect(g.matrix).toHaveLength(c.generated.length);
  expect(g.matrix[0].slice(c.promptIds.length)).toEqual(new Array(g.ids.length - 1 - c.promptIds.length).fill(null));
}

describe.each([
  ['without a cache', 'facts_gpt.onnx'],
  ['with past key/values (fed empty)', 'facts_gpt_past.onnx'],
])('the GPT-2 style decoder %s: the generation matrix equals PyTorch for every generated position', (_, file) => {
  const ex = new Explainer(runtime, model(file));
  afterAll(() => ex.release());

  test.each(refs.generation.map((c: any) => [c.prompt, c]))('IG at the embeddings: %s', async (_, c: any) => {
    const g = await explainGeneration(ex, gptTok.encode(c.prompt).ids, { maxNewTokens: c.generated.length, steps: c.steps }, gptTok);
    checkGeneration(g, c, 'ig');
  });

  test.each(refs.generation.map((c: any) => [c.prompt, c]))('feature ablation (<|endoftext|> in place of each token), the continuation given: %s', async (_, c: any) => {
    const g = await explainGeneration(ex, c.promptIds, { method: 'feature-ablation', continuation: c.generated, baseline: c.ablationId }, gptTok);
    checkGeneration(g, c, 'ablation');
  });
});

test('the log-probability model leaves the decoder it was made from unchanged and has one output, [batch, sequence * vocabulary]', () => {
  const m = model('facts_gpt_past.onnx');
  const before = JSON.stringify(m);
  const n = tokenLogProbsModel(m);
  expect(JSON.stringify(m)).toBe(before);
  expect(n.graph!.output!.map((o) => o.name)).toEqual(['token_log_probs']);
});

test('a decoder that is not causal (every position reads the mean of all): the one-pass rows would be wrong, so each row is redone on its prefix, equal to brute force', async () => {
  // ids -> embedding [B, T, 4] -> + mean over T -> logits [B, T, 6]
  const b = new GraphBuilder('mean_mixer');
  const ids = b.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const table = b.constant(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7)), [6, 4], { name: 'wte' });
  const w = b.constant(Float32Array.from({ length: 24 }, (_, i) => Math.cos(i * 0.9)), [4, 6], { name: 'head' });
  const e = b.op('Gather', [table, ids], { axis: 0 });
  const mixed = b.op('Add', [e, b.op('ReduceMean', [e], { axes: [1], keepdims: 1 })]);
  b.op('MatMul', [mixed, w], {}, { output: 'logits' });
  b.output('logits', DataType.FLOAT, ['batch', 'sequence', 6]);
  const m = makeModel(b.build(), { opset: 13 });
  const ex = new Explainer(runtime, m);
  const g = await explainGeneration(ex, [1, 2, 3], { method: 'feature-ablation', continuation: [4, 5], baseline: 0 });
  await ex.release();
  expect(g.causal).toBe(false);
  const s = await runtime.createSession(m);
  const logp = async (seq: number[], token: number) => {
    const out = (await s.run({ input_ids: { type: 'int64', dims: [1, seq.length], data: BigInt64Array.from(seq, BigInt) } })).logits.data as Float32Array;
    const row = Array.from(out.subarray((seq.length - 1) * 6, seq.length * 6));
    const mx = Math.max(...row);
    return row[token] - mx - Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
  };
  for (const row of g.generated) {
    const prefix = g.ids.slice(0, row.position);
    const full = await logp(prefix, row.id);
    expect(row.logProb).toBeCloseTo(full, 5);
    for (let j = 0; j < prefix.length; j++) expect(row.scores[j]).toBeCloseTo(full - (await logp(prefix.map((id, k) => (k === j ? 0 : id)), row.id)), 5);
  }
  await s.release();
});

test('a second generation call on the same explainer (same prompt, or another length in the same bucket) makes no new session, and release frees every one it made', async () => {
  let made = 0;
  let freed = 0;
  const counting = {
    name: runtime.name,
    async createSession(m: any) {
      const s = await runtime.createSession(m);
      made++;
      return { inputNames: s.inputNames, outputNames: s.outputNames, run: s.run.bind(s), release: async () => { freed++; await s.release(); } };
    },
  };
  const ex = new Explainer(counting, model('facts_gpt.onnx'));
  const ids = gptTok.encode('a cow says').ids;
  const a = await explainGeneration(ex, ids, { maxNewTokens: 2, steps: 8 }, gptTok);
  const first = made;
  expect(first).toBeGreaterThan(0);
  const b = await explainGeneration(ex, ids, { maxNewTokens: 2, steps: 8 }, gptTok);
  expect(made).toBe(first);
  expect(b.matrix).toEqual(a.matrix);
  // a prompt of another length in the same bucket of 8 (padded on the right, mask 0) reuses them too
  const c = await explainGeneration(ex, gptTok.encode('the capital of france is').ids, { maxNewTokens: 2, steps: 8 }, gptTok);
  expect(made).toBe(first);
  expect(c.causal).toBe(true);
  await ex.release();
  expect(freed).toBe(made);
});

test('generation reports progress (generating, then attributing) and stops when cancelled', async () => {
  const ex = new Explainer(runtime, model('facts_gpt.onnx'));
  const phases: string[] = [];
  await explainGeneration(ex, gptTok.encode('a cow says').ids, { maxNewTokens: 2, steps: 8, internalBatchSize: 4, onProgress: (p) => phases.push(`${p.phase} ${p.done}/${p.total}`) }, gptTok);
  expect(phases.slice(0, 2)).toEqual(['generating 1/2', 'generating 2/2']);
  // 2 tokens x (8 steps + both ends) rows in batches of 4
  expect(phases.filter((p) => p.startsWith('attributing: ')).length).toBeGreaterThan(2);
  const controller = new AbortController();
  const run = explainGeneration(ex, gptTok.encode('a cow says').ids, { maxNewTokens: 3, steps: 64, internalBatchSize: 2, signal: controller.signal, onProgress: (p) => p.phase.startsWith('attributing') && controller.abort() }, gptTok);
  await expect(run).rejects.toThrow(/cancelled|abort/i);
  await ex.release();
});
