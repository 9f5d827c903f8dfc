/**
 * Token attribution for generative decoders: for a prompt and a
 * continuation (greedy, or given), each generated token's log-probability
 * attributed to every token before it, one row per generated token: a
 * prompt-by-generation matrix.
 *
 * The decoder's logits [B, T, V] become log-probabilities inside the graph
 * (LogSoftmax over the vocabulary, flattened to [B, T * V]), so the value a
 * row explains, log p(token t | the tokens before it), is one class of it:
 * (t - 1) * V + token. The gradient methods run at the token embedding
 * (positions are separate Gathers and stay as they are), the perturbation
 * methods over the ids. Exports with past key/values are fed empty pasts.
 */
import type { ModelProto } from '../onnx/types';
import { cloneModel } from '../onnx/codec';
import { makeNode, makeValueInfo } from '../onnx/builder';
import { makeTensor } from '../onnx/tensor';
import { NameScope, opsetVersion, typeShape } from '../onnx/graph';
import { explainedOutput } from '../inspect';
import type { Tensor } from '../runtime';
import { Explainer } from '../methods/explainer';
import { explainWith, type ExplainOptions, type ExplainResult } from '../methods/dispatch';
import { throwIfAborted, type LongRunOptions } from '../methods/progress';
import type { BaselineValue } from '../methods/common';
import { asFloat32 } from '../methods/tensors';
import type { TextTokenizer } from './tokenizer';
import { textFeeds, idsInput, idsLike } from './textFeeds';
import { wordEmbedding } from './wordEmbedding';
import { textMethod, tokenScores, type TextBaseline } from './explainText';

/** The output the rewritten decoder explains: log-probabilities of every token at every position, [batch, sequence * vocabulary]. */
export const TOKEN_LOG_PROBS_OUTPUT = 'token_log_probs';

/**
 * The decoder with one output: the log-softmax of its logits over the
 * vocabulary at every position, flattened to [batch, sequence * vocabulary],
 * so that "token v after position p" is the class p * V + v of one row, a
 * class target like any classifier's (classes differ per row, the session
 * does not). The model given is not changed.
 */
export function tokenLogProbsModel(model: ModelProto, logits?: string): ModelProto {
  const name = explainedOutput(model, logits);
  const declared = model.graph!.output!.find((o) => o.name === name)!;
  const dims = typeShape(declared.type);
  if (dims && dims.length !== 3) throw new Error(`a decoder's logits are [batch, sequence, vocabulary]; output '${name}' has rank ${dims.length}`);
  const opset = opsetVersion(model, '') ?? 0;
  if (opset < 5) throw new Error(`a decoder of opset ${opset}: the log-probability output needs Reshape with a shape input (opset 5 or later)`);
  const out = cloneModel(model);
  const g = out.graph!;
  const scope = new NameScope(out);
  const logProbs = scope.fresh('token_log_probs_3d');
  const shape = scope.fresh('rows_by_positions_and_tokens');
  g.initializer = [...(g.initializer ?? []), makeTensor(shape, BigInt64Array.from([0n, -1n]), [2])];
  g.node = [
    ...(g.node ?? []),
    // axis 2 is the last: before opset 13 LogSoftmax flattens from the axis on, which is the same here
    makeNode('LogSoftmax', [name], [logProbs], { axis: 2 }, { name: scope.fresh('TokenLogProbs_LogSoftmax') }),
    makeNode('Reshape', [logProbs, shape], [TOKEN_LOG_PROBS_OUTPUT], {}, { name: scope.fresh('TokenLogProbs_Reshape') }),
  ];
  const flat = dims && typeof dims[1] === 'number' && typeof dims[2] === 'number' ? dims[1] * dims[2] : null;
  g.output = [makeValueInfo(TOKEN_LOG_PROBS_OUTPUT, declared.type?.tensorType?.elemType ?? 1, [dims?.[0] ?? null, flat])];
  return out;
}

export interface GenerationOptions extends LongRunOptions, Omit<ExplainOptions, 'baselines' | 'attribute' | 'target' | 'output' | 'method' | keyof LongRunOptions> {
  method?: ExplainOptions['method'];
  /** Tokens to generate greedily (default 8), when no continuation is given. */
  maxNewTokens?: number;
  /** The continuation to explain, as ids (instead of generating). */
  continuation?: number[];
  /** What a token becomes in the baseline: 'zeros' (a zero embedding; the default) or a token id (for the perturbation methods: the default is the padding/end-of-text token). */
  baseline?: TextBaseline;
  /** Stop greedy generation after this id (default: the tokenizer's end-of-text token). */
  eosId?: number;
  /** The logits output (default: the first float output). */
  logits?: string;
}

export interface GeneratedToken {
  id: number;
  token: string;
  /** Its index in the whole sequence (prompt first). */
  position: number;
  /** log p(token | tokens before it). */
  logProb: number;
  /** Attribution of the log-probability to each earlier token (length: position). */
  scores: number[];
  /** The baseline's log-probability and the completeness gap, where the method reports them. */
  baselineLogProb?: number;
  delta?: number;
}

export interface GenerationExplanation {
  method: string;
  promptIds: number[];
  ids: number[];
  /** How each token reads. */
  tokens: string[];
  generated: GeneratedToken[];
  /** Row per generated token, a column per token but the last: scores, null where the column is not before the row's token. */
  matrix: (number | null)[][];
  baseline: TextBaseline;
  /** Whether one pass over the whole sequence served every row (a causal decoder), or each row ran on its own prefix. */
  causal: boolean;
  lowered?: string[];
  gradientSource: ExplainResult['gradientSource'];
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Largest |value| of a row's columns from `from` on, against the row's largest: how far attribution reached tokens after the predicted one. */
function leak(row: ArrayLike<number>, from: number): number {
  let inside = 0;
  let after = 0;
  for (let j = 0; j < row.length; j++) {
    const v = Math.abs(row[j]);
    if (j < from) inside = Math.max(inside, v);
    else after = Math.max(after, v);
  }
  return after / Math.max(inside, 1e-30);
}

/** Sequence lengths the one-pass explanation rounds up to (padding on the right). */
const SEQUENCE_BUCKET = 8;

/** Attribution past the predicted token's position above this share of the row's largest means the model is not causal. */
const CAUSAL_LEAK = 1e-5;

/**
 * Generates (greedily, unless a continuation is given) and attributes each
 * generated token. `explainer` holds the decoder as exported; the
 * log-probability model is made from it and released at the end.
 *
 * A causal decoder's log-probability at position p does not depend on the
 * tokens after p, so every generated token is explained from one input,
 * the whole sequence but its last token: one batch of examples (one per
 * generated token, its class the token at its position), one session, one
 * gradient graph. The columns after each row's position must come out 0;
 * if they do not (the model is not causal), the rows are redone each on its
 * own prefix, which is exact for any model.
 */
export async function explainGeneration(explainer: Explainer, promptIds: number[], opts: GenerationOptions = {}, tokenizer?: TextTokenizer): Promise<GenerationExplanation> {
  const { name: method, spec } = textMethod(opts.method);
  if (!promptIds.length) throw new Error('the prompt has no tokens');
  const maxNew = opts.maxNewTokens ?? 8;
  if (!opts.continuation && (!Number.isInteger(maxNew) || maxNew < 1 || maxNew > 1024)) throw new RangeError(`maxNewTokens must be a whole number from 1 to 1024, got ${maxNew}`);
  if (opts.continuation && !opts.continuation.length) throw new Error('the continuation has no tokens');
  // made once per decoder and output, kept with the explainer: a second call pays no set-up
  const gen = explainer.derived(`token-log-probs:${opts.logits ?? ''}`, (m) => tokenLogProbsModel(m, opts.logits));
  const model = gen.model;
  const idsName = idsInput(gen.summary);
  const padId = tokenizer?.padId ?? 0;
  const feedsFor = (rows: number[][]) => textFeeds(gen.summary, rows.map((ids) => ({ ids })), padId);
  const special = (id: number) => tokenizer?.isSpecial(id) ?? false;
  const baseline: TextBaseline = opts.baseline ?? (spec.family === 'gradient' ? 'zeros' : tokenizer?.padId ?? tokenizer?.eosId ?? 'zeros');
  const eos = opts.eosId ?? tokenizer?.eosId;
  // the vocabulary size from a run on the prompt (a model's may exceed its tokenizer's), then the continuation
  const ids = [...promptIds];
  const session = await gen.session();
  const lastRow = async (seq: number[]) => {
    const out = asFloat32((await session.run(feedsFor([seq]), [TOKEN_LOG_PROBS_OUTPUT]))[TOKEN_LOG_PROBS_OUTPUT]);
    const v = out.length / seq.length;
    return { v, row: out.subarray((seq.length - 1) * v) };
  };
  const checkIds = (list: number[], v: number) => {
    for (const id of list) if (!Number.isInteger(id) || id < 0 || id >= v) throw new Error(`token id ${id} is not in the model's vocabulary (0 to ${v - 1})`);
  };
  // ids out of range are refused before the model sees them (a Gather would fail deep inside onnxruntime)
  const declaredV = typeShape(explainer.model.graph!.output!.find((o) => o.name === explainedOutput(explainer.model, opts.logits))!.type)?.[2];
  if (typeof declaredV === 'number') checkIds([...promptIds, ...(opts.continuation ?? [])], declaredV);
  const first = await lastRow(ids);
  const vocabSize = first.v;
  let row = first.row;
  checkIds([...promptIds, ...(opts.continuation ?? [])], vocabSize);
  if (typeof baseline === 'number' && (!Number.isInteger(baseline) || baseline < 0 || baseline >= vocabSize)) throw new Error(`baseline token id ${baseline} is not in the model's vocabulary (0 to ${vocabSize - 1})`);
  if (opts.continuation) {
    ids.push(...opts.continuation);
  } else {
    for (let k = 0; k < maxNew; k++) {
      throwIfAborted(opts.signal);
      if (k > 0) ({ row } = await lastRow(ids));
      const next = argmax(row);
      ids.push(next);
      opts.onProgress?.({ phase: 'generating', done: k + 1, total: maxNew });
      if (next === eos) break;
    }
  }
  const positions = Array.from({ length: ids.length - promptIds.length }, (_, k) => promptIds.length + k);
  const at = spec.family === 'gradient' ? opts.at ?? wordEmbedding(gen.model, idsName).output : undefined;
  const baselineOf = (seq: number[]) => (baseline === 'zeros' ? (at ? undefined : seq.map((id) => (special(id) ? id : 0))) : seq.map((id) => (special(id) ? id : (baseline as number))));
  const progress = (label: string) => opts.onProgress && ((p: { phase: string; done: number; total: number }) => opts.onProgress!({ phase: `${label}: ${p.phase}`, done: p.done, total: p.total }));
  /** One explanation of the rows `seqs` (one per position, padded to `length`), token positions[k] the class of row k. */
  const explainRows = async (seqs: number[][], classes: number[], label: string, length = seqs[0].length): Promise<ExplainResult> => {
    const inputs = textFeeds(gen.summary, seqs.map((ids) => ({ ids })), padId, length);
    const replaced = seqs.map((seq) => baselineOf(seq)?.concat(new Array(length - seq.length).fill(padId)));
    const idsTensor = (v: number[][]) => idsLike(inputs[idsName], v.flat());
    const common = { ...opts, method, target: classes, onProgress: progress(label) };
    if (at) {
      const baselines: BaselineValue = replaced[0] ? { inputs: { ...inputs, [idsName]: idsTensor(replaced as number[][]) } } : 'zeros';
      return explainWith(gen, inputs, { ...common, at, baselines } as ExplainOptions);
    }
    // the padding is one feature (one evaluation per row, its score dropped), every real token one of its own
    const real = seqs[0].length;
    const featureMask: Tensor = { type: 'int32', dims: [1, length], data: Int32Array.from({ length }, (_, j) => Math.min(j, real)) };
    return explainWith(gen, inputs, { ...common, attribute: [idsName], baselines: idsTensor(replaced as number[][]), ...(length > real ? { featureMask } : {}) } as ExplainOptions);
  };
  const classOf = (t: number) => (t - 1) * vocabSize + ids[t];
  // every row on the whole sequence but its last token, padded (mask 0) to a multiple of SEQUENCE_BUCKET (8):
  // engines are built per input shape, so prompts of nearby lengths share one; later positions do not
  // move a causal decoder's earlier ones, pads included, and the causality check below covers them too
  const whole = ids.slice(0, -1);
  const bucket = Math.ceil(whole.length / SEQUENCE_BUCKET) * SEQUENCE_BUCKET;
  let result = await explainRows(positions.map(() => whole), positions.map(classOf), 'attributing', bucket);
  let perRow: { result: ExplainResult; row: number }[] = positions.map((_, k) => ({ result, row: k }));
  let scoresOf = (k: number) => tokenScores(result, idsName).slice(k * bucket, (k + 1) * bucket);
  const causal = positions.every((t, k) => leak(scoresOf(k), t) <= CAUSAL_LEAK);
  if (!causal) {
    // not a causal decoder: each row on its own prefix
    perRow = [];
    for (const [k, t] of positions.entries()) {
      throwIfAborted(opts.signal);
      const r = await explainRows([ids.slice(0, t)], [classOf(t)], `token ${k + 1} of ${positions.length}`);
      perRow.push({ result: r, row: 0 });
    }
    scoresOf = (k: number) => tokenScores(perRow[k].result, idsName);
    result = perRow[0].result;
  }
  const generated: GeneratedToken[] = positions.map((t, k) => {
    const { result: r, row } = perRow[k];
    return {
      id: ids[t],
      token: tokenizer?.display(ids[t]) ?? `#${ids[t]}`,
      position: t,
      logProb: r.outputs[row],
      scores: scoresOf(k).slice(0, t),
      ...(r.baselineOutputs ? { baselineLogProb: r.baselineOutputs[row] } : {}),
      ...(r.delta ? { delta: r.delta[row] } : {}),
    };
  });
  const columns = ids.length - 1;
  return {
    method,
    promptIds,
    ids,
    tokens: ids.map((id) => tokenizer?.display(id) ?? `#${id}`),
    generated,
    matrix: generated.map((g) => Array.from({ length: columns }, (_, j) => (j < g.scores.length ? g.scores[j] : null))),
    baseline,
    causal,
    lowered: result.lowered,
    gradientSource: result.gradientSource,
  };
}
