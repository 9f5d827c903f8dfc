/**
 * The CLI's text commands: `attribute MODEL --text ... --tokenizer ...` for
 * a classifier's tokens, and `generate MODEL --prompt ...` for a decoder's
 * generation matrix. Tokens are shown coloured on a terminal (a legend
 * with them), as a plain list otherwise, and can be written as a
 * self-contained HTML page, JSON, and (the matrix) a PNG.
 */
import { promises as fs } from 'node:fs';
import { ansiTokens, ansiLegend, robustRange, tokensHtml, renderMatrix, type TextBaseline, type TextTokenizer, type IntegrationMethod, type GradientMode } from '@onnx-explain/core';
import { NodeExplainer, type MethodName } from '../explain';
import { loadTokenizer } from '../tokenizerFile';
import { encodePng } from '../image';
import type { Device } from '../runtime';
import { printable, gradientsText } from './report';
import { progressBar } from './progress';

export interface TextCommonArgs {
  model: string;
  tokenizer?: string;
  method: MethodName | 'auto';
  steps: number | 'auto';
  integration: IntegrationMethod;
  baseline?: string;
  batchSize?: number;
  gradients: GradientMode;
  device: Device;
  json?: string;
  html?: string;
  color: 'auto' | 'always' | 'never';
  quiet: boolean;
}

export interface AttributeTextArgs extends TextCommonArgs {
  text: string;
  pair?: string;
  target?: string;
  at?: string;
  samples?: number;
  seed?: number;
}

export interface GenerateArgs extends TextCommonArgs {
  prompt?: string;
  promptIds?: string;
  continuation?: string;
  continuationIds?: string;
  maxNewTokens: number;
  logits?: string;
  png?: string;
}

/** --baseline for text: pad, zeros, or a token id. */
export function textBaseline(v: string | undefined): TextBaseline | undefined {
  if (v === undefined) return undefined;
  if (v === 'pad' || v === 'zeros') return v;
  if (/^\d+$/.test(v)) return Number(v);
  throw new Error(`--baseline for text is pad (each token but [CLS]/[SEP] becomes the padding token), zeros (zero embeddings) or a token id, got '${v}'`);
}

function ids(v: string, flag: string): number[] {
  if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(v)) throw new Error(`${flag} takes token ids separated by commas (5,17,300), got '${v}'`);
  return v.split(',').map(Number);
}

const useColor = (c: TextCommonArgs['color']) => c === 'always' || (c === 'auto' && process.stdout.isTTY === true && !process.env.NO_COLOR);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
/** WordPiece tokens are words (shown apart); byte-level BPE tokens carry their own spaces (shown joined). */
const joinerFor = (tokens: string[]) => (tokens.some((t) => /^\s/.test(t)) ? '' : ' ');

async function tokenizerOf(file: string | undefined, what: string): Promise<TextTokenizer> {
  if (!file) throw new Error(`${what} needs --tokenizer FILE (the model's tokenizer.json)`);
  return loadTokenizer(file);
}

export async function attributeText(a: AttributeTextArgs): Promise<void> {
  const tokenizer = await tokenizerOf(a.tokenizer, '--text');
  const baseline = textBaseline(a.baseline);
  const explainer = await NodeExplainer.load(a.model, { device: a.device });
  if (explainer.notice && !a.quiet) process.stderr.write(`onnx-explain: ${explainer.notice}\n`);
  const progress = progressBar(!a.quiet && process.stderr.isTTY === true);
  try {
    const target = a.target === undefined ? undefined : /^\d+$/.test(a.target) ? Number(a.target) : undefined;
    if (a.target !== undefined && target === undefined) throw new Error(`--target for a text classifier is a class index, got '${a.target}'`);
    const started = Date.now();
    const r = await explainer
      .explainText(tokenizer, a.text, {
        method: a.method,
        pair: a.pair,
        target,
        steps: a.steps,
        integration: a.integration,
        baseline,
        internalBatchSize: a.batchSize,
        gradients: a.gradients,
        at: a.at,
        samples: a.samples,
        seed: a.seed,
        onProgress: (e) => progress.update(e),
      })
      .finally(() => progress.done());
    const res = r.result;
    const range = robustRange(r.scores);
    const lines = [
      `model      ${a.model} (${explainer.device})`,
      `method     ${res.method}${res.steps ? `, ${res.steps} steps` : ''}, ${gradientsText(res)}${res.at ? ` at '${printable(res.at)}'` : ''}`,
      `baseline   ${r.baseline === 'pad' ? 'padding token in place of each token ([CLS]/[SEP] kept)' : r.baseline === 'zeros' ? 'zero embeddings' : `token ${r.baseline} in place of each token`}`,
      `target     class ${res.classes?.[0]}${a.target === undefined ? ' (the top class)' : ''}, score ${res.outputs[0].toFixed(4)}`,
    ];
    if (res.delta) {
      // LRP's delta is F(x) less the relevance (no baseline); the others' the gap to F(x) - F(baseline)
      const gap = res.baselineOutputs ? `F(x) - F(baseline) ${(res.outputs[0] - res.baselineOutputs[0]).toFixed(4)}` : `F(x) ${res.outputs[0].toFixed(4)}`;
      lines.push(`delta      ${res.delta[0].toExponential(2)}  (sum of token scores ${res.sum[0].toFixed(4)}; ${gap})`);
    }
    if (useColor(a.color)) lines.push(`text       ${ansiTokens(r.tokens, r.scores, { range, joiner: joinerFor(r.tokens) })}`, `           ${ansiLegend(range)}`);
    lines.push(`tokens     ${r.tokens.map((t, i) => `${printable(t)} ${signed(r.scores[i])}`).join(' | ')}`);
    if (a.json) {
      await fs.writeFile(
        a.json,
        JSON.stringify({ model: a.model, method: res.method, text: a.text, pair: a.pair, tokens: r.tokens, ids: r.ids, special: r.special, scores: r.scores, baseline: r.baseline, baselineIds: r.baselineIds, class: res.classes?.[0], output: res.outputs[0], baselineOutput: res.baselineOutputs?.[0], delta: res.delta?.[0], at: res.at, seconds: (Date.now() - started) / 1000 }, null, 1) + '\n',
      );
      lines.push(`wrote      ${a.json}`);
    }
    if (a.html) {
      const note = `class ${res.classes?.[0]}, score ${res.outputs[0].toFixed(4)}${res.delta ? `, delta ${res.delta[0].toExponential(2)}` : ''}`;
      await fs.writeFile(a.html, tokensHtml(`${res.method} on ${a.model}`, [{ heading: a.text, tokens: r.tokens, scores: r.scores, note }]));
      lines.push(`wrote      ${a.html}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    for (const w of res.warnings ?? []) process.stderr.write(`onnx-explain: warning: ${w}\n`);
  } finally {
    await explainer.release();
  }
}

export async function generate(a: GenerateArgs): Promise<void> {
  if ((a.prompt === undefined) === (a.promptIds === undefined)) throw new Error('give the prompt as --prompt TEXT (with --tokenizer) or as --prompt-ids 1,2,3');
  if (a.continuation !== undefined && a.continuationIds !== undefined) throw new Error('give the continuation once: --continuation TEXT or --continuation-ids');
  const tokenizer = a.tokenizer ? await loadTokenizer(a.tokenizer) : undefined;
  const encode = (text: string, flag: string) => {
    if (!tokenizer) throw new Error(`${flag} is text: it needs --tokenizer FILE (or give ids)`);
    return tokenizer.encode(text).ids;
  };
  const promptIds = a.promptIds !== undefined ? ids(a.promptIds, '--prompt-ids') : encode(a.prompt!, '--prompt');
  const continuation = a.continuationIds !== undefined ? ids(a.continuationIds, '--continuation-ids') : a.continuation !== undefined ? encode(a.continuation, '--continuation') : undefined;
  const explainer = await NodeExplainer.load(a.model, { device: a.device });
  if (explainer.notice && !a.quiet) process.stderr.write(`onnx-explain: ${explainer.notice}\n`);
  const progress = progressBar(!a.quiet && process.stderr.isTTY === true);
  try {
    const started = Date.now();
    const g = await explainer
      .explainGeneration(
        promptIds,
        {
          method: a.method,
          maxNewTokens: a.maxNewTokens,
          continuation,
          steps: a.steps,
          integration: a.integration,
          baseline: textBaseline(a.baseline),
          internalBatchSize: a.batchSize,
          gradients: a.gradients,
          logits: a.logits,
          onProgress: (e) => progress.update(e),
        },
        tokenizer,
      )
      .finally(() => progress.done());
    const seconds = (Date.now() - started) / 1000;
    const show = (list: string[]) => list.map(printable).join(joinerFor(list));
    const prompt = g.tokens.slice(0, g.promptIds.length);
    const gen = g.generated.map((x) => x.token);
    const lines = [
      `model      ${a.model} (${explainer.device})`,
      `method     ${g.method}${g.method === 'ig' ? `, ${a.steps} steps` : ''}, ${g.gradientSource === 'none' ? 'no gradients: the model only runs' : `gradients by ${g.gradientSource}`}; each generated token's log-probability over the tokens before it`,
      `baseline   ${g.baseline === 'zeros' && g.gradientSource !== 'none' ? 'zero embeddings (positions kept)' : `token ${g.baseline === 'zeros' ? 0 : g.baseline} in place of each token (special tokens kept)`}`,
      `prompt     ${show(prompt)}`,
      `${(continuation ? 'given' : 'generated').padEnd(10)} ${show(gen)}`,
    ];
    const range = robustRange(g.generated.flatMap((x) => x.scores));
    const color = useColor(a.color);
    for (const row of g.generated) {
      const before = g.tokens.slice(0, row.position);
      lines.push(`token      ${printable(row.token)}  log p ${row.logProb.toFixed(4)}${row.delta !== undefined ? `  delta ${row.delta.toExponential(2)}` : ''}`);
      lines.push(color ? `           ${ansiTokens(before, row.scores, { range, joiner: joinerFor(before) })}` : `           ${before.map((t, i) => `${printable(t)} ${signed(row.scores[i])}`).join(' | ')}`);
    }
    if (color) lines.push(`           ${ansiLegend(range)}`);
    lines.push(`time       ${seconds.toFixed(2)} s (${(seconds / Math.max(1, g.generated.length)).toFixed(3)} s per generated token)`);
    const matrix = { rowLabels: gen, columnLabels: g.tokens.slice(0, -1), values: g.matrix };
    if (a.json) {
      await fs.writeFile(a.json, JSON.stringify({ model: a.model, ...g, seconds }, null, 1) + '\n');
      lines.push(`wrote      ${a.json}`);
    }
    if (a.html) {
      await fs.writeFile(
        a.html,
        tokensHtml(`${g.method} on ${a.model}`, g.generated.map((row) => ({ heading: `${row.token} (log p ${row.logProb.toFixed(4)})`, tokens: g.tokens.slice(0, row.position), scores: row.scores, note: row.delta !== undefined ? `delta ${row.delta.toExponential(2)}` : undefined })), matrix),
      );
      lines.push(`wrote      ${a.html}`);
    }
    if (a.png) {
      await fs.writeFile(a.png, encodePng(renderMatrix(matrix, { title: `${g.method} generation matrix` })));
      lines.push(`wrote      ${a.png}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await explainer.release();
  }
}
