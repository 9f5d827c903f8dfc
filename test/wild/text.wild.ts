/**
 * The ONNX Runtime GenAI tiny GPT-2 (com.microsoft EmbedLayerNormalization,
 * Attention, SkipLayerNormalization, FastGelu; past states as
 * [2, batch, heads, past, head]) as a user would explain it: the gradient
 * path is refused because the token lookup is fused into a contrib op, and
 * the perturbation path gives the generation matrix, each entry equal to
 * the model run here on the ablated prefix (log-softmax in float64).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, Explainer, explainGeneration, textFeeds, summarizeModel } from '@onnx-explain/core';
import { OrtNodeRuntime } from '@onnx-explain/node';
import { repoRoot } from '../helpers/ort';

const wildDir = process.env.WILD_DIR ?? path.resolve(repoRoot, '../shared/wild');
const file = path.join(wildDir, 'ortgenai_tiny_random_gpt2_past.onnx');
const runtime = new OrtNodeRuntime({ intraOpNumThreads: 1 });

(fs.existsSync(file) ? describe : describe.skip)('GenAI tiny GPT-2 with contrib ops', () => {
  const model = decodeModel(fs.readFileSync(file));
  const ex = new Explainer(runtime, model);
  afterAll(() => ex.release());
  const prompt = [5, 17, 300, 42];

  test('the gradient path is refused, naming the fused contrib op that hides the token embedding', async () => {
    await expect(explainGeneration(ex, prompt, { maxNewTokens: 1 })).rejects.toThrow(
      /the token embedding of 'input_ids' is inside com\.microsoft::EmbedLayerNormalization 'EmbedLayerNormalization_0'.*feature-ablation/,
    );
  });

  test('feature ablation: greedy tokens and every matrix entry equal log p(x) - log p(ablated) computed here', async () => {
    const g = await explainGeneration(ex, prompt, { method: 'feature-ablation', maxNewTokens: 3, baseline: 0 });
    expect(g.generated).toHaveLength(3);
    const session = await runtime.createSession(model);
    const summary = summarizeModel(model);
    const logProbs = async (ids: number[]) => {
      const out = await session.run(textFeeds(summary, [{ ids }]), ['logits']);
      const v = 1000;
      const last = Float64Array.from((out.logits.data as Float32Array).subarray((ids.length - 1) * v, ids.length * v));
      const m = Math.max(...last);
      const lse = m + Math.log(last.reduce((s, x) => s + Math.exp(x - m), 0));
      return Array.from(last, (x) => x - lse);
    };
    for (const row of g.generated) {
      const prefix = g.ids.slice(0, row.position);
      const full = await logProbs(prefix);
      // greedy: the row's token is the arg-max after its prefix
      expect(full.indexOf(Math.max(...full))).toBe(row.id);
      expect(row.logProb).toBeCloseTo(full[row.id], 4);
      for (let j = 0; j < prefix.length; j++) {
        const ablated = prefix.map((id, k) => (k === j ? 0 : id));
        expect(row.scores[j]).toBeCloseTo(full[row.id] - (await logProbs(ablated))[row.id], 4);
      }
    }
    await session.release();
  });
});
