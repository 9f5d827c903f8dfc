/**
 * Token attribution for generative decoders: for a prompt and a
 * continuation (greedy, or given), each generated token's log-probability
 * attributed to every token before it, one row per generated token: a
 * prompt-by-generation matrix.
 *
 * The decoder's logits [B, T, V] become the next token's log-probabilities
 * [B, V] inside the graph (Slice at the last position, LogSoftmax), so the
 * explained value is log p(token | the tokens before it) and its class is
 * the token. Row t runs the model on the first t tokens: the gradient
 * methods at the token embedding (positions are separate Gathers and stay
 * as they are), the perturbation methods over the ids. Exports with past
 * key/values are fed empty pasts.
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
import { textFeeds, idsInput } from './textFeeds';
import { wordEmbedding } from './wordEmbedding';
import { textMethod, tokenScores, type TextBaseline } from './explainText';

/** The output the rewritten decoder explains. */
export const NEXT_TOKEN_OUTPUT = 'next_token_log_probs';

/**
 * The decoder with one output: log-softmax of the logits at the last
 * position, [batch, vocabulary]. The model given is not changed.
 */
export function nextTokenModel(model: ModelProto, logits?: string): ModelProto {
  const name = explainedOutput(model, logits);
  const declared = model.graph!.output!.find((o) => o.name === name)!;
  const dims = typeShape(declared.type);
  if (dims && dims.length !== 3) throw new Error(`a decoder's logits are [batch, sequence, vocabulary]; output '${name}' has rank ${dims.length}`);
  const opset = opsetVersion(model, '') ?? 0;
  if (opset < 10) throw new Error(`a decoder of opset ${opset}: the next-token output needs Slice with tensor inputs (opset 10 or later)`);
  const out = cloneModel(model);
  const g = out.graph!;
  const scope = new NameScope(out);
  const c = (base: string, values: number[]) => {
    const n = scope.fresh(base);
    g.initializer = [...(g.initializer ?? []), makeTensor(n, BigInt64Array.from(values, BigInt), [values.length])];
    return n;
  };
  const last = scope.fresh('next_token_logits_3d');
  const flat = scope.fresh('next_token_logits');
  g.node = [
    ...(g.node ?? []),
    makeNode('Slice', [name, c('last_start', [-1]), c('last_end', [2 ** 62]), c('last_axis', [1])], [last], {}, { name: scope.fresh('NextToken_Slice') }),
    makeNode('Reshape', [last, c('rows_by_vocab', [0, -1])], [flat], {}, { name: scope.fresh('NextToken_Reshape') }),
    makeNode('LogSoftmax', [flat], [NEXT_TOKEN_OUTPUT], { axis: 1 }, { name: scope.fresh('NextToken_LogSoftmax') }),
  ];
  g.output = [makeValueInfo(NEXT_TOKEN_OUTPUT, declared.type?.tensorType?.elemType ?? 1, [dims?.[0] ?? null, dims?.[2] ?? null])];
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
  lowered?: string[];
  gradientSource: ExplainResult['gradientSource'];
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Generates (greedily, unless a continuation is given) and attributes each
 * generated token. `explainer` holds the decoder as exported; the
 * next-token model is made from it and released at the end.
 */
export async function explainGeneration(explainer: Explainer, promptIds: number[], opts: GenerationOptions = {}, tokenizer?: TextTokenizer): Promise<GenerationExplanation> {
  const { name: method, spec } = textMethod(opts.method);
  if (!promptIds.length) throw new Error('the prompt has no tokens');
  const maxNew = opts.maxNewTokens ?? 8;
  if (!opts.continuation && (!Number.isInteger(maxNew) || maxNew < 1 || maxNew > 1024)) throw new RangeError(`maxNewTokens must be a whole number from 1 to 1024, got ${maxNew}`);
  const model = nextTokenModel(explainer.model, opts.logits);
  const gen = new Explainer(explainer.runtime, model);
  const idsName = idsInput(gen.summary);
  const vocab = typeShape(model.graph!.output![0].type)?.[1];
  const vocabSize = typeof vocab === 'number' ? vocab : tokenizer?.vocabSize;
  for (const id of [...promptIds, ...(opts.continuation ?? [])]) {
    if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize)) throw new Error(`token id ${id} is not in the model's vocabulary (0 to ${(vocabSize ?? 0) - 1})`);
  }
  const padId = tokenizer?.padId ?? 0;
  const feedsFor = (ids: number[]) => textFeeds(gen.summary, [{ ids }], padId);
  const special = (id: number) => tokenizer?.isSpecial(id) ?? false;
  const baseline: TextBaseline = opts.baseline ?? (spec.family === 'gradient' ? 'zeros' : tokenizer?.padId ?? tokenizer?.eosId ?? 'zeros');
  const eos = opts.eosId ?? tokenizer?.eosId;
  try {
    // the continuation: given, or greedy through one session of the next-token model
    let ids = [...promptIds];
    if (opts.continuation) {
      if (!opts.continuation.length) throw new Error('the continuation has no tokens');
      ids.push(...opts.continuation);
    } else {
      const session = await explainer.runtime.createSession(model);
      try {
        for (let k = 0; k < maxNew; k++) {
          throwIfAborted(opts.signal);
          const out = await session.run(feedsFor(ids), [NEXT_TOKEN_OUTPUT]);
          const next = argmax(asFloat32(out[NEXT_TOKEN_OUTPUT]));
          ids.push(next);
          opts.onProgress?.({ phase: 'generating', done: k + 1, total: maxNew });
          if (next === eos) break;
        }
      } finally {
        await session.release();
      }
    }
    const first = promptIds.length;
    const at = spec.family === 'gradient' ? opts.at ?? wordEmbedding(gen.model, idsName).output : undefined;
    const generated: GeneratedToken[] = [];
    let lowered: string[] | undefined;
    let source: ExplainResult['gradientSource'] = 'none';
    for (let t = first; t < ids.length; t++) {
      throwIfAborted(opts.signal);
      const prefix = ids.slice(0, t);
      const inputs = feedsFor(prefix);
      const replaced = baseline === 'zeros' ? (spec.family === 'gradient' ? undefined : prefix.map((id) => (special(id) ? id : 0))) : prefix.map((id) => (special(id) ? id : (baseline as number)));
      if (typeof baseline === 'number' && (!Number.isInteger(baseline) || baseline < 0 || (vocabSize !== undefined && baseline >= vocabSize))) throw new Error(`baseline token id ${baseline} is not in the vocabulary`);
      const idsTensor = (v: number[]): Tensor => ({ ...inputs[idsName], data: inputs[idsName].type === 'int64' ? BigInt64Array.from(v, BigInt) : Int32Array.from(v) });
      const row = t - first;
      const total = ids.length - first;
      const common = {
        ...opts,
        method,
        target: ids[t],
        onProgress: opts.onProgress && ((p: { phase: string; done: number; total: number }) => opts.onProgress!({ phase: `token ${row + 1} of ${total}: ${p.phase}`, done: p.done, total: p.total })),
      };
      let result: ExplainResult;
      if (at) {
        const baselines: BaselineValue = replaced ? { inputs: { ...inputs, [idsName]: idsTensor(replaced) } } : 'zeros';
        result = await explainWith(gen, inputs, { ...common, at, baselines } as ExplainOptions);
      } else {
        result = await explainWith(gen, inputs, { ...common, attribute: [idsName], baselines: idsTensor(replaced!) } as ExplainOptions);
      }
      lowered ??= result.lowered;
      source = result.gradientSource;
      generated.push({
        id: ids[t],
        token: tokenizer?.display(ids[t]) ?? `#${ids[t]}`,
        position: t,
        logProb: result.outputs[0],
        scores: tokenScores(result, idsName),
        ...(result.baselineOutputs ? { baselineLogProb: result.baselineOutputs[0] } : {}),
        ...(result.delta ? { delta: result.delta[0] } : {}),
      });
    }
    const columns = ids.length - 1;
    return {
      method,
      promptIds,
      ids,
      tokens: ids.map((id) => tokenizer?.display(id) ?? `#${id}`),
      generated,
      matrix: generated.map((g) => Array.from({ length: columns }, (_, j) => (j < g.scores.length ? g.scores[j] : null))),
      baseline,
      lowered,
      gradientSource: source,
    };
  } finally {
    await gen.release();
  }
}
