/**
 * The dashboard's text models read with their own tokenizer.json (core's
 * text/): what makes a model a text model, the extra fields a decoder needs,
 * running explainText (a classifier, output [N, C]) or explainGeneration (a
 * decoder, logits [N, T, V]), and drawing the token colours and the
 * generation matrix. main.ts keeps the form, progress and cancel; this module
 * only turns the form into core's calls and the results into elements.
 *
 * Token strings come from an untrusted tokenizer.json (a vocabulary entry can
 * be any string, markup included): like everything else in the dashboard they
 * reach the page as text nodes and title properties (../dom.ts), never as HTML.
 */
import {
  explainText,
  explainGeneration,
  textInputRoles,
  textFeeds,
  idsInput,
  wordEmbedding,
  embeddingOutputs,
  explainedOutput,
  summarizeModel,
  robustRange,
  divergingColor,
  type Explainer,
  type TextTokenizer,
  type ModelProto,
  type TextBaseline,
  type TextExplanation,
  type GenerationExplanation,
  type ExplainOptions,
} from '@onnx-explain/core';
import { h, type Child } from '../dom';
import { renderTokens } from '../view';

export interface TextModel {
  /** The token-id input. */
  ids: string;
  /** The token embedding the gradient methods cut at. */
  at: string;
  /** Logits [N, T, V]: explained token by token (explainGeneration), not by a class. */
  decoder: boolean;
}

/**
 * A model is a text model when core can feed it from token ids
 * (textInputRoles accepts every input, past states included), the ids are
 * integers and an embedding lookup of them exists: the same test the toy
 * path made, but past key/value inputs (float) no longer make it an image.
 */
export function textModel(model: ModelProto): TextModel | undefined {
  const s = summarizeModel(model);
  let ids: string;
  try {
    textInputRoles(s);
    ids = idsInput(s);
  } catch {
    return undefined;
  }
  if (!/^u?int(8|16|32|64)$/.test(s.inputs.find((i) => i.name === ids)?.type ?? '')) return undefined;
  let at: string | undefined;
  try {
    // the word vectors alone (position and segment lookups held), as explainText cuts
    at = wordEmbedding(model, ids).output;
  } catch {
    at = embeddingOutputs(model)[0];
  }
  if (!at) return undefined;
  const out = s.outputs.find((o) => o.name === explainedOutput(model));
  return { ids, at, decoder: out?.shape?.length === 3 };
}

/** More texts for the shipped text models, next to models.json's samples: a negation and a contrast show what IG finds. */
export const TEXT_SAMPLES: Record<string, Record<string, string>> = {
  sentiment_bert: {
    negated: 'honestly , the plot was not good .',
    contrast: 'the acting was dull but the music was wonderful .',
  },
  facts_gpt: {
    capital: 'the capital of france is',
    animal: 'a cow says',
  },
};

/** One line on the tokenizer in use; token spellings as text. */
export function tokenizerLine(tok: TextTokenizer, source: string): Child[] {
  const named = (label: string, id: number | undefined) => (id === undefined ? [] : [`, ${label} `, h('code', {}, tok.display(id))]);
  return [`tokenizer ${source}: ${tok.vocabSize} tokens`, ...named('padding', tok.padId), ...named('end of text', tok.eosId)];
}

/** The decoder's own fields: how many tokens to generate, or a continuation to explain instead. */
export function decoderFields(): HTMLElement {
  const n = h('input', { id: 'new-tokens' });
  n.type = 'number';
  n.min = '1';
  n.max = '64';
  n.value = '4';
  const cont = h('input', { id: 'continuation' });
  cont.type = 'text';
  cont.placeholder = ' paris .';
  cont.size = 24;
  return h(
    'div',
    { className: 'row' },
    h('label', {}, 'Generate ', n, ' tokens'),
    h('label', { title: 'Appended to the text as typed (start it with a space where a new word follows); explained instead of a greedy continuation' }, 'or explain the continuation ', cont),
  );
}

/**
 * The baseline choices that mean something for tokens, put in the method
 * section's select (its 'constant' entry becomes a token id): 'default' is
 * core's own choice (the padding token for a classifier, zero embeddings for
 * a decoder's gradient methods, the padding token for its perturbation ones);
 * 'zeros' is a zero embedding for the gradient methods and id 0 for the
 * perturbation ones. Without a tokenizer the select gets its numeric choices back.
 */
export function setBaselineChoices(select: HTMLSelectElement, tokens: boolean, tok?: TextTokenizer): void {
  const choices: [string, string][] = tokens
    ? [['default', 'default'], ...(tok?.padId !== undefined ? [['pad', 'padding token'] as [string, string]] : []), ['zeros', 'zeros'], ['constant', 'token id…']]
    : [['zeros', 'zeros'], ['constant', 'constant…']];
  // a choice is kept while the kind of choices stays (a numeric 'zeros' is not the token 'zeros'), else the first is taken
  const mode = tokens ? 'tokens' : 'values';
  const keep = select.dataset.mode === mode ? select.value : undefined;
  select.dataset.mode = mode;
  select.replaceChildren(...choices.map(([v, label]) => new Option(label, v)));
  select.value = choices.some(([v]) => v === keep) ? keep! : choices[0][0];
  select.dispatchEvent(new Event('change'));
}

/** The select's value as core's text baseline (undefined: core's default). */
export function textBaseline(choice: string, tokenId: number): TextBaseline | undefined {
  if (choice === 'constant') return tokenId;
  return choice === 'pad' || choice === 'zeros' ? choice : undefined;
}

export type TextRun =
  | { kind: 'tokens'; explanation: TextExplanation }
  | { kind: 'generation'; generation: GenerationExplanation; prompt: string; continuation: string };

/** The prompt as text (tokenized here) or as ids (no tokenizer: the raw ids or the toy vocabulary's). */
export type Prompt = { text: string } | { ids: number[] };

export interface TextForm {
  prompt: Prompt;
  baseline: TextBaseline | undefined;
  newTokens: number;
  /** Text appended to the prompt (a tokenizer) or ids (none); empty: generate. */
  continuation: string;
}

/** Continuation ids: the text appended to the prompt, tokenized with it, so a word split across the join tokenizes as it would in one text. */
function continuationIds(tok: TextTokenizer, prompt: string, cont: string): number[] {
  // a template's closing tokens ([SEP]) are not part of either text
  const body = (ids: number[]) => {
    let end = ids.length;
    while (end > 0 && tok.isSpecial(ids[end - 1])) end--;
    return ids.slice(0, end);
  };
  const head = body(tok.encode(prompt).ids);
  const whole = body(tok.encode(prompt + cont).ids);
  if (head.every((id, i) => whole[i] === id)) return whole.slice(head.length);
  return tok.encode(cont).ids.filter((id) => !tok.isSpecial(id));
}

const idList = (s: string) =>
  s
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => {
      const n = Number(t);
      if (!Number.isInteger(n) || n < 0) throw new Error(`without a tokenizer the continuation is token ids; '${t}' is none`);
      return n;
    });

/**
 * Runs the method the form names on a text model: a classifier through
 * explainText (needs the tokenizer), a decoder through explainGeneration
 * (one row per generated or given token). `opts` are the method options the
 * form set, progress and the cancel signal included.
 */
export async function explainTextForm(explainer: Explainer, model: TextModel, tok: TextTokenizer | undefined, form: TextForm, opts: Omit<ExplainOptions, 'baselines' | 'at'>): Promise<TextRun> {
  // core finds the cut itself (the word embedding); a target class means nothing to a decoder
  if (!model.decoder) {
    if (!tok || !('text' in form.prompt)) throw new Error('a text classifier is explained here from its tokenizer.json: give one');
    return { kind: 'tokens', explanation: await explainText(explainer, tok, form.prompt.text, { ...opts, baseline: form.baseline }) };
  }
  const promptIds = 'ids' in form.prompt ? form.prompt.ids : tok!.encode(form.prompt.text).ids;
  const cont = form.continuation;
  const continuation = cont.trim() === '' ? undefined : tok && 'text' in form.prompt ? continuationIds(tok, form.prompt.text, cont) : idList(cont);
  // 'pad' is a classifier's word; for a decoder it is the padding token's id
  let baseline = form.baseline;
  if (baseline === 'pad') {
    if (tok?.padId === undefined) throw new Error(`the tokenizer has no padding token: choose the baseline 'zeros' or a token id`);
    baseline = tok.padId;
  }
  const { target: _target, output: _output, ...rest } = opts;
  const generation = await explainGeneration(explainer, promptIds, { ...rest, maxNewTokens: form.newTokens, continuation, baseline }, tok);
  const text = (ids: number[]) => (tok ? tok.decode(ids) : ids.join(' '));
  return { kind: 'generation', generation, prompt: text(generation.promptIds), continuation: text(generation.ids.slice(generation.promptIds.length)) };
}

/**
 * The model's own answer for the form's text: a classifier's logits, or a
 * decoder's five likeliest next tokens. Returns the line to show and, for a
 * classifier, the top class (the target select follows it).
 */
export async function predictText(explainer: Explainer, tok: TextTokenizer | undefined, prompt: Prompt, className: (c: number) => string): Promise<{ line: string; top?: number }> {
  const ids = 'ids' in prompt ? prompt.ids : tok!.encode(prompt.text).ids;
  const session = await explainer.runtime.createSession(explainer.model);
  let row: Float32Array;
  let decoder: boolean;
  try {
    const out = (await session.run(textFeeds(explainer.summary, [{ ids }], tok?.padId ?? 0)))[explainedOutput(explainer.model)];
    const data = out.data as Float32Array;
    decoder = out.dims.length === 3;
    const v = out.dims[out.dims.length - 1];
    // a decoder's last position predicts the next token
    row = decoder ? data.subarray(data.length - v) : data.subarray(0, v);
  } finally {
    await session.release();
  }
  const top = Array.from(row, (v, i) => ({ v, i }))
    .sort((a, b) => b.v - a.v)
    .slice(0, 5);
  if (!decoder) return { line: `top classes: ${top.map((t) => `${className(t.i)} (${t.v.toFixed(3)})`).join(', ')}`, top: top[0].i };
  const max = top[0].v;
  const z = Array.from(row).reduce((s, v) => s + Math.exp(v - max), 0);
  return { line: `likeliest next tokens: ${top.map((t) => `${JSON.stringify(tok ? tok.display(t.i) : `#${t.i}`)} (${(Math.exp(t.v - max) / z).toFixed(3)})`).join(', ')}` };
}

/**
 * The generation matrix as a table: a row per generated token, a column per
 * earlier token, each cell coloured by its score on core's diverging scale
 * (red: raised the token's log-probability, blue: lowered it), the value in
 * its title; cells right of the row's own position are empty (null).
 */
export function renderGenerationMatrix(g: GenerationExplanation): HTMLTableElement {
  const values = g.matrix.flat().filter((v): v is number => v !== null);
  const range = values.length ? robustRange(values) : 1;
  const first = g.promptIds.length;
  const columns = g.ids.length - 1;
  const head = h(
    'tr',
    {},
    h('th', { className: 'corner' }, 'generated ↓ / earlier →'),
    ...Array.from({ length: columns }, (_, j) => h('th', { className: `col ${j < first ? 'prompt' : 'generated'}`, title: `position ${j}, id ${g.ids[j]}` }, g.tokens[j])),
  );
  const rows = g.generated.map((row, k) =>
    h(
      'tr',
      {},
      h('th', { className: 'row-token', title: `log p = ${row.logProb.toFixed(4)}${row.delta !== undefined ? `, completeness gap ${row.delta.toExponential(2)}` : ''}` }, row.token),
      ...g.matrix[k].map((v, j) =>
        v === null
          ? h('td', { className: 'empty' })
          : h('td', { className: 'cell', title: `${g.tokens[j]} → ${row.token}: ${v.toFixed(4)}`, style: { background: `rgb(${divergingColor(v / range).join(',')})` } }),
      ),
    ),
  );
  return h('table', { id: 'generation-matrix', className: 'matrix' }, h('thead', {}, head), h('tbody', {}, ...rows));
}

/** The result's summary lines for a generation (a classifier's come from its ExplainResult, as for any model). */
export function generationSummary(run: Extract<TextRun, { kind: 'generation' }>): Child[] {
  const g = run.generation;
  const deltas = g.generated.map((r) => r.delta).filter((d): d is number => d !== undefined);
  const worst = deltas.length ? Math.max(...deltas.map(Math.abs)) : undefined;
  return [
    h('div', {}, h('b', {}, g.method), ` · ${g.generated.length} token${g.generated.length === 1 ? '' : 's'} explained, each by its log-probability · ${g.gradientSource === 'none' ? 'no gradients' : `gradients by ${g.gradientSource === 'graph' ? 'graph' : 'finite differences'}`}`),
    h('div', {}, `Baseline: ${typeof g.baseline === 'number' || g.gradientSource === 'none' ? `token id ${typeof g.baseline === 'number' ? g.baseline : 0} in place of each token` : 'a zero vector in place of each token embedding'}`),
    worst !== undefined ? h('div', {}, 'Completeness: largest gap over the rows ', h('b', {}, worst.toExponential(2))) : null,
  ];
}

/** The token colours (a classifier) or the generated text and its matrix (a decoder), appended to `grid`. */
export function renderTextRun(grid: HTMLElement, run: TextRun): void {
  if (run.kind === 'tokens') {
    const ex = run.explanation;
    const div = h('div', { id: 'tokens' });
    renderTokens(div, ex.tokens, ex.scores);
    const how = ex.result.gradientSource === 'none' ? 'the output drop when it becomes the baseline token' : 'summed over its word embedding';
    grid.append(h('figure', {}, div, h('figcaption', {}, `Each token of the tokenizer coloured by its attribution (${how}): red for the explained class, blue against it. Hover for the value.`)));
    return;
  }
  const text = h('p', { id: 'generated-text' }, h('span', { className: 'prompt' }, run.prompt), h('mark', { className: 'generated' }, run.continuation));
  const fig = h('figure', { className: 'matrix-figure' }, renderGenerationMatrix(run.generation));
  fig.append(h('figcaption', {}, 'Each generated token (rows) attributed to every token before it (columns): red raised its log-probability, blue lowered it. Hover for the value.'));
  const box = h('div', {}, text, fig);
  grid.append(box);
}

/** The run as plain data: the page's window.__onnxExplain.lastResult (for tests) and the JSON download. */
export function textRunRecord(run: TextRun): Record<string, unknown> {
  if (run.kind === 'tokens') {
    const { ids, tokens, special, scores, result } = run.explanation;
    return { kind: 'tokens', method: result.method, ids, tokens, special, scores, classes: result.classes, delta: result.delta, steps: result.steps, warnings: result.warnings ?? [] };
  }
  const g = run.generation;
  return {
    kind: 'generation',
    method: g.method,
    ids: g.ids,
    tokens: g.tokens,
    generated: g.generated.map(({ id, token, logProb, delta }) => ({ id, token, logProb, delta })),
    matrix: g.matrix,
    text: run.prompt + run.continuation,
  };
}
