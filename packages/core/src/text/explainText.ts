/**
 * Token attributions for a text model whose output is a row of scores
 * (an encoder classifier): the gradient methods at the token embedding,
 * with the attention mask, token types and positions held as the text
 * gives them; the perturbation methods over the token ids, a removed token
 * becoming the padding token. One score per token: the sum over the hidden
 * axis for a layer attribution, the id's own attribution otherwise.
 */
import type { Tensor } from '../runtime';
import type { Explainer } from '../methods/explainer';
import { METHOD_TABLE, explainWith, type ExplainOptions, type ExplainResult, type MethodName, type MethodSpec } from '../methods/dispatch';
import { asFloat32 } from '../methods/tensors';
import type { BaselineValue } from '../methods/common';
import type { TextTokenizer, TextEncoding } from './tokenizer';
import { textFeeds, idsInput, idsLike } from './textFeeds';
import { wordEmbedding } from './wordEmbedding';

/**
 * The baseline text: 'pad' (each token that is not special becomes the
 * padding token, [CLS]/[SEP] kept, as in Captum's BERT tutorial), 'zeros'
 * (a zero embedding vector per token; for the perturbation methods, id 0),
 * or a token id put in place of every non-special token.
 */
export type TextBaseline = 'pad' | 'zeros' | number;

export interface TextExplainOptions extends Omit<ExplainOptions, 'baselines' | 'attribute'> {
  baseline?: TextBaseline;
}

export interface TokenScores {
  ids: number[];
  /** How each token reads (decoded; WordPiece continuations keep their ##). */
  tokens: string[];
  special: boolean[];
  /** One score per token. */
  scores: number[];
}

export interface TextExplanation extends TokenScores {
  text: string;
  baseline: TextBaseline;
  /** The baseline ids (for 'pad' or an id). */
  baselineIds?: number[];
  /** The method's whole result (attributions at the cut or on the ids, delta, outputs). */
  result: ExplainResult;
}

/** The method's spec, refusing those that cannot explain a text model's tokens, with why. */
export function textMethod(method: MethodName | 'auto' | undefined): { name: MethodName; spec: MethodSpec } {
  const name: MethodName = !method || method === 'auto' ? 'ig' : method;
  const spec = (METHOD_TABLE as Record<string, MethodSpec>)[name];
  if (!spec) throw new Error(`unknown method '${name}'`);
  if (spec.family === 'tree') throw new Error(`${name} reads tree ensembles; a text model is explained by the gradient methods at its embeddings or by the perturbation methods over its tokens`);
  if (spec.needsLayer) throw new Error(`${name} attributes at a convolution layer of an image model; for a text model choose ig, saliency, input-x-gradient, deeplift, ... (at the embeddings) or feature-ablation, shapley-sampling, kernel-shap, lime (over the tokens)`);
  if (name === 'deeplift-shap') throw new Error(`deeplift-shap takes rows of a baseline distribution of the model's inputs; at the token embeddings use deeplift (one baseline text) or gradient-shap`);
  if (name === 'feature-permutation') throw new Error(`feature-permutation swaps features between examples of a batch; over one text it has nothing to swap with`);
  return { name, spec };
}

/** Ids of the baseline text: the chosen id in place of every token that is not special. */
export function baselineIds(tokenizer: TextTokenizer, enc: Pick<TextEncoding, 'ids' | 'special'>, baseline: TextBaseline): number[] {
  let id: number;
  if (baseline === 'pad') {
    if (tokenizer.padId === undefined) throw new Error(`the tokenizer has no padding token ([PAD], <pad>, <|endoftext|>): choose the baseline 'zeros' or a token id`);
    id = tokenizer.padId;
  } else if (baseline === 'zeros') {
    id = 0;
  } else {
    if (!Number.isInteger(baseline) || baseline < 0 || baseline >= tokenizer.vocabSize) throw new Error(`baseline token id ${baseline} is not in the vocabulary (0 to ${tokenizer.vocabSize - 1})`);
    id = baseline;
  }
  return enc.ids.map((t, i) => (enc.special[i] ? t : id));
}

/** The per-token scores of a result: at a layer, each position's sum over the hidden axis; on ids, the ids' own values. */
export function tokenScores(result: ExplainResult, idsName: string): number[] {
  if (result.positionScores) return Array.from(asFloat32(result.positionScores));
  const a = result.attributions[idsName];
  if (!a) throw new Error(`the result attributes ${Object.keys(result.attributions).join(', ')}, not the token ids '${idsName}'`);
  return Array.from(asFloat32(a));
}

/**
 * Explains one text (a pair: `pair` as the tokenizer's template places it).
 * The gradient methods run at the token embedding found by wordEmbedding
 * (or `at`); the perturbation methods replace tokens by the baseline id.
 */
export async function explainText(explainer: Explainer, tokenizer: TextTokenizer, text: string, opts: TextExplainOptions & { pair?: string } = {}): Promise<TextExplanation> {
  const { name, spec } = textMethod(opts.method);
  const enc = tokenizer.encode(text, opts.pair);
  if (!enc.ids.length) throw new Error('the text has no tokens');
  const idsName = idsInput(explainer.summary);
  const inputs = textFeeds(explainer.summary, [{ ids: enc.ids, typeIds: enc.typeIds }], tokenizer.padId ?? 0);
  const baseline: TextBaseline = opts.baseline ?? (tokenizer.padId !== undefined ? 'pad' : 'zeros');
  const baseIds = baseline === 'zeros' && spec.family === 'gradient' ? undefined : baselineIds(tokenizer, enc, baseline);
  const idsTensor = (ids: number[]) => idsLike(inputs[idsName], ids);
  let result: ExplainResult;
  if (spec.family === 'gradient') {
    const at = opts.at ?? wordEmbedding(explainer.model, idsName).output;
    // the baseline as model inputs: its value at the cut is the baseline embedding (the other inputs as for the text)
    const baselines: BaselineValue = baseIds ? { inputs: { ...inputs, [idsName]: idsTensor(baseIds) } } : 'zeros';
    result = await explainWith(explainer, inputs, { ...opts, method: name, at, baselines } as ExplainOptions);
  } else {
    // special tokens are their own replacement: removing [CLS] is not a question the text asks (their score is 0)
    result = await explainWith(explainer, inputs, { ...opts, method: name, attribute: [idsName], baselines: idsTensor(baseIds!) } as ExplainOptions);
  }
  return {
    text,
    ids: enc.ids,
    tokens: enc.ids.map((id) => tokenizer.display(id)),
    special: enc.special,
    scores: tokenScores(result, idsName),
    baseline,
    baselineIds: baseIds,
    result,
  };
}
