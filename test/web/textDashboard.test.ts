/**
 * Text models with their own tokenizer.json in the built dashboard (Debian's
 * Chromium driven by playwright-core, no browser download; served by `vite
 * preview` on 127.0.0.1, as dashboard.test.ts): the shipped BERT-style
 * classifier's token scores and the GPT-2 style decoder's generation matrix
 * equal what core computes in Node on onnxruntime-node for the same text and
 * options (the page runs onnxruntime-web's wasm, so small float differences
 * are allowed), and a tokenizer.json whose vocabulary holds markup shows it as
 * literal text. Skipped, saying so, where /usr/bin/chromium is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { decodeModel, Explainer, TextTokenizer, explainText, explainGeneration } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';
import { useDashboardInChromium } from '../helpers/preview';
import { relL2, runtime } from '../grad/fd';

const dash = useDashboardInChromium('text dashboard tests');
const maybe = dash.have ? test : test.skip;

const models = (f: string) => path.join(repoRoot, 'models', f);
const tokenizerJson = (f: string) => fs.readFileSync(models(f), 'utf8');

interface Watched {
  page: Page;
  dialogs: string[];
  pageErrors: string[];
}

async function openPage(): Promise<Watched> {
  const page = await dash.browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // before any page script: every Content-Security-Policy violation (an attempted inline script or handler shows here)
  await page.addInitScript(() => {
    const w = window as unknown as { __violations: { directive: string; blocked: string }[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  });
  await page.goto(`${dash.url}?ep=wasm`);
  await page.waitForFunction(() => window.__onnxExplain?.ready === true, undefined, { timeout: 30000 });
  return { page, dialogs, pageErrors };
}

/** Opens a shipped example and waits until its tokenizer and first sample are in place. */
async function openExample(page: Page, key: string): Promise<void> {
  await page.evaluate(() => (window.__onnxExplain.opened = undefined));
  await page.click(`button[data-example="${key}"]`);
  await page.waitForFunction((k) => window.__onnxExplain.opened === k || !!window.__onnxExplain.error, key, { timeout: 30000 });
  expect(await page.evaluate(() => window.__onnxExplain.error)).toBeUndefined();
}

/** Clicks Run and returns the page's record of the run (window.__onnxExplain.lastResult). */
async function run<T>(page: Page): Promise<T> {
  const before = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 240000 });
  const state = await page.evaluate(() => window.__onnxExplain);
  if (state.error) throw new Error(`the page failed: ${state.error}`);
  return state.lastResult as T;
}

interface TokensRecord {
  ep: string;
  kind: 'tokens';
  method: string;
  ids: number[];
  tokens: string[];
  scores: number[];
  classes: number[];
  delta?: number[];
}

interface GenerationRecord {
  ep: string;
  kind: 'generation';
  ids: number[];
  tokens: string[];
  generated: { id: number; token: string; logProb: number; delta?: number }[];
  matrix: (number | null)[][];
  text: string;
}

const cellsOf = (m: (number | null)[][]) => m.flat().filter((v): v is number => v !== null);

maybe('sentiment_bert with its tokenizer.json: IG token scores equal Node explainText, the tokens are the tokenizer\'s, the delta is shown', async () => {
  const { page, pageErrors } = await openPage();
  await openExample(page, 'sentiment_bert');
  expect(await page.$eval('#tokenizer-info', (e) => e.textContent)).toMatch(/^tokenizer sentiment_bert\.tokenizer\.json: \d+ tokens, padding \[PAD\]/);
  const text = 'honestly , the plot was not good .';
  await page.fill('#text-input', text);
  await page.selectOption('#method', 'ig');
  await page.fill('#steps', '32');
  const r = await run<TokensRecord>(page);
  expect(r.kind).toBe('tokens');
  expect(r.ep).toBe('wasm');

  const tok = new TextTokenizer(tokenizerJson('sentiment_bert.tokenizer.json'));
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(models('sentiment_bert.onnx'))));
  try {
    // the page's options: IG, 32 steps, Gauss-Legendre, core's default baseline (the padding token, [CLS]/[SEP] kept)
    const want = await explainText(ex, tok, text, { method: 'ig', steps: 32, integration: 'gausslegendre' });
    expect(r.ids).toEqual(want.ids);
    expect(r.tokens).toEqual(want.tokens);
    expect(r.classes).toEqual(want.result.classes);
    expect(relL2(r.scores, want.scores)).toBeLessThan(1e-4);
    expect(Math.abs(r.delta![0] - want.result.delta![0])).toBeLessThan(1e-4);
  } finally {
    await ex.release();
  }
  // the tokens drawn are the tokenizer's ([CLS] ... [SEP], WordPiece), each coloured, the score in its title
  const shown = await page.$$eval('#tokens .token', (els) => els.map((e) => ({ text: e.textContent, title: (e as HTMLElement).title, bg: (e as HTMLElement).style.background })));
  expect(shown.map((s) => s.text)).toEqual(r.tokens);
  expect(shown[0].text).toBe('[CLS]');
  expect(shown.at(-1)!.text).toBe('[SEP]');
  shown.forEach((s, i) => expect(s.title).toBe(`${r.tokens[i]}: ${r.scores[i].toFixed(4)}`));
  expect(new Set(shown.map((s) => s.bg)).size).toBeGreaterThan(3);
  expect(await page.$eval('#summary', (e) => e.textContent)).toMatch(/Completeness: .* delta \S+e[-+]\d+/);
  // Predict runs the model on the tokenizer's feeds: "not good" is the negative class (0)
  await page.click('#predict');
  await page.waitForFunction(() => (document.getElementById('prediction')?.textContent ?? '') !== '');
  expect(await page.$eval('#prediction', (e) => e.textContent)).toMatch(/^top classes: class 0 /);
  expect(pageErrors).toEqual([]);
  await page.screenshot({ path: path.join(dash.artifacts, 'dashboard-text-bert.png'), fullPage: true });
  await page.close();
}, 300000);

maybe('facts_gpt: two generated tokens and their IG matrix equal Node explainGeneration; the heatmap has a row per token and a cell per earlier token', async () => {
  const { page, pageErrors } = await openPage();
  await openExample(page, 'facts_gpt');
  const prompt = 'the capital of france is';
  // the decoder's own fields; the target select has nothing to choose
  expect(await page.$eval('#new-tokens', (e) => (e as HTMLInputElement).value)).toBe('4');
  expect(await page.$$eval('#target option', (els) => els.map((e) => e.textContent))).toEqual(['each generated token']);
  await page.fill('#text-input', prompt);
  await page.fill('#new-tokens', '2');
  await page.selectOption('#method', 'ig');
  await page.fill('#steps', '16');
  const r = await run<GenerationRecord>(page);
  expect(r.kind).toBe('generation');

  const tok = new TextTokenizer(tokenizerJson('facts_gpt.tokenizer.json'));
  const ex = new Explainer(runtime, decodeModel(fs.readFileSync(models('facts_gpt.onnx'))));
  let want;
  try {
    want = await explainGeneration(ex, tok.encode(prompt).ids, { method: 'ig', maxNewTokens: 2, steps: 16, integration: 'gausslegendre' }, tok);
  } finally {
    await ex.release();
  }
  expect(r.ids).toEqual(want.ids);
  expect(r.generated.map((g) => g.token)).toEqual([' paris', ' .']);
  expect(r.generated.map((g) => g.id)).toEqual(want.generated.map((g) => g.id));
  r.generated.forEach((g, k) => expect(g.logProb).toBeCloseTo(want.generated[k].logProb, 4));
  // the same cells empty (null) and the same values in the others
  expect(r.matrix.map((row) => row.map((v) => v === null))).toEqual(want.matrix.map((row) => row.map((v) => v === null)));
  expect(relL2(cellsOf(r.matrix), cellsOf(want.matrix))).toBeLessThan(1e-4);
  expect(r.text).toBe('the capital of france is paris .');

  const drawn = await page.$eval('#generation-matrix', (t) => ({
    cols: Array.from(t.querySelectorAll('thead th.col'), (e) => e.textContent),
    rows: Array.from(t.querySelectorAll('tbody tr'), (tr) => ({
      label: tr.querySelector('th')!.textContent,
      cells: tr.querySelectorAll('td').length,
      filled: Array.from(tr.querySelectorAll('td.cell'), (td) => ({ title: (td as HTMLElement).title, bg: (td as HTMLElement).style.background })),
      empty: tr.querySelectorAll('td.empty').length,
    })),
  }));
  const columns = want.ids.length - 1;
  expect(drawn.cols).toEqual(want.tokens.slice(0, columns));
  expect(drawn.rows.map((row) => row.label)).toEqual([' paris', ' .']);
  drawn.rows.forEach((row, k) => {
    expect(row.cells).toBe(columns);
    expect(row.filled).toHaveLength(want.generated[k].scores.length);
    expect(row.empty).toBe(columns - want.generated[k].scores.length);
    row.filled.forEach((cell, j) => {
      expect(cell.title).toBe(`${want.tokens[j]} → ${want.generated[k].token}: ${r.matrix[k][j]!.toFixed(4)}`);
      expect(cell.bg).toMatch(/^rgb\(/);
    });
  });
  expect(await page.$eval('#generated-text', (e) => [e.querySelector('.prompt')!.textContent, e.querySelector('.generated')!.textContent])).toEqual([prompt, ' paris .']);
  expect(await page.$eval('#summary', (e) => e.textContent)).toMatch(/^ig · 2 tokens explained.*Completeness: largest gap over the rows/);
  // Predict shows the decoder's likeliest next tokens after the prompt
  await page.click('#predict');
  await page.waitForFunction(() => (document.getElementById('prediction')?.textContent ?? '') !== '');
  expect(await page.$eval('#prediction', (e) => e.textContent)).toMatch(/^likeliest next tokens: " paris" \(0\.\d{3}\), /);
  expect(pageErrors).toEqual([]);
  await page.screenshot({ path: path.join(dash.artifacts, 'dashboard-text-gpt.png'), fullPage: true });

  // a long run is cancelled from its button while it integrates: the page says so, with no error
  await page.fill('#new-tokens', '4');
  await page.fill('#steps', '2000');
  const runs = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction(() => /^attributing: integrating \d+\//.test(document.getElementById('progress-text')?.textContent ?? ''), undefined, { timeout: 120000 });
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('progress-text')?.textContent === 'cancelled', undefined, { timeout: 60000 });
  expect(await page.evaluate(() => window.__onnxExplain.error)).toBeUndefined();
  expect(await page.$eval('#run', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
  expect(await page.evaluate(() => window.__onnxExplain.runs)).toBe(runs);
  await page.close();
}, 300000);

const P_IMG = '<img src=x onerror=alert(1)>';
const P_SCRIPT = '<script>alert(1)</script>';

/** The shipped BERT tokenizer with 'good' and 'bad' respelled as markup, as added tokens (matched before WordPiece, never normalized). */
function hostileBertTokenizer(): string {
  const t = JSON.parse(tokenizerJson('sentiment_bert.tokenizer.json'));
  for (const [word, payload] of [['good', P_IMG], ['bad', P_SCRIPT]]) {
    const id = t.model.vocab[word];
    delete t.model.vocab[word];
    t.model.vocab[payload] = id;
    t.added_tokens.push({ id, content: payload, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  }
  return JSON.stringify(t);
}

/** The shipped GPT tokenizer with an added token spelled as markup on ' paris''s id: the greedy continuation reads as it. */
function hostileGptTokenizer(): string {
  const t = JSON.parse(tokenizerJson('facts_gpt.tokenizer.json'));
  t.added_tokens.push({ id: t.model.vocab['Ġparis'], content: P_SCRIPT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  return JSON.stringify(t);
}

const injected = (page: Page) => page.$eval('main', (m) => m.querySelectorAll('img, script, svg, iframe, object, embed').length);

maybe('a tokenizer.json whose tokens are markup: the tokens, the matrix labels and the file name show as literal text, nothing runs', async () => {
  const { page, dialogs, pageErrors } = await openPage();
  const scriptsBefore = await page.$$eval('script', (els) => els.length);
  // the classifier: the hostile tokenizer given through the file input (its name is markup too)
  await openExample(page, 'sentiment_bert');
  const fileName = `${P_IMG}.json`;
  await page.setInputFiles('#tokenizer-file', { name: fileName, mimeType: 'application/json', buffer: Buffer.from(hostileBertTokenizer()) });
  await page.waitForFunction((n) => (document.getElementById('tokenizer-info')?.textContent ?? '').includes(n), fileName, { timeout: 10000 });
  await page.fill('#text-input', `the plot was ${P_IMG} but the music was ${P_SCRIPT} .`);
  await page.selectOption('#method', 'feature-ablation');
  const r = await run<TokensRecord>(page);
  expect(r.tokens).toEqual(expect.arrayContaining([P_IMG, P_SCRIPT]));
  const shown = await page.$$eval('#tokens .token', (els) => els.map((e) => ({ text: e.textContent, title: (e as HTMLElement).title, children: e.children.length })));
  expect(shown.map((s) => s.text)).toEqual(r.tokens);
  for (const p of [P_IMG, P_SCRIPT]) {
    const s = shown.find((x) => x.text === p)!;
    expect(s.children).toBe(0);
    expect(s.title.startsWith(`${p}: `)).toBe(true);
  }
  expect(await page.$eval('#tokenizer-info', (e) => ({ text: e.textContent, children: e.querySelectorAll('img, script').length }))).toEqual({ text: expect.stringContaining(`tokenizer ${fileName}: `), children: 0 });

  // the decoder: the greedy continuation's first token is the markup one, in the row labels, a column label and the generated text
  await openExample(page, 'facts_gpt');
  await page.setInputFiles('#tokenizer-file', { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from(hostileGptTokenizer()) });
  await page.waitForFunction(() => (document.getElementById('tokenizer-info')?.textContent ?? '').startsWith('tokenizer tokenizer.json'), undefined, { timeout: 10000 });
  await page.fill('#text-input', 'the capital of france is');
  await page.fill('#new-tokens', '2');
  await page.selectOption('#method', 'feature-ablation');
  const g = await run<GenerationRecord>(page);
  expect(g.generated[0].token).toBe(P_SCRIPT);
  const m = await page.$eval('#generation-matrix', (t) => ({
    rows: Array.from(t.querySelectorAll('tbody th'), (e) => e.textContent),
    cols: Array.from(t.querySelectorAll('thead th.col'), (e) => e.textContent),
    titles: Array.from(t.querySelectorAll('td.cell'), (e) => (e as HTMLElement).title),
  }));
  expect(m.rows[0]).toBe(P_SCRIPT);
  expect(m.cols.at(-1)).toBe(P_SCRIPT);
  expect(m.titles.some((t) => t.includes(`→ ${P_SCRIPT}: `))).toBe(true);
  expect(await page.$eval('#generated-text .generated', (e) => ({ text: e.textContent, children: e.children.length }))).toEqual({ text: expect.stringContaining(P_SCRIPT), children: 0 });

  await page.waitForTimeout(300);
  expect(await injected(page)).toBe(0);
  expect(await page.$$eval('script', (els) => els.length)).toBe(scriptsBefore);
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
  // nothing tried to run under the policy (protobufjs' probe for Node's require is an eval it refuses, as hostile.test.ts allows)
  const violations = await page.evaluate(() => (window as unknown as { __violations: { directive: string; blocked: string }[] }).__violations);
  expect(violations.filter((v) => v.blocked !== 'eval')).toEqual([]);
  await page.close();
}, 300000);
