/**
 * The text commands as a user runs them (`attribute --text`, `generate`),
 * compared with the library on the same model and options, and the views:
 * the terminal's colours, the HTML page (tokens are data, never markup)
 * and the matrix PNG.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { JSDOM } from 'jsdom';
import { NodeExplainer, loadTokenizer } from '@onnx-explain/node';
import { tokensHtml, ansiTokens, escapeHtml } from '@onnx-explain/core';
import { repoRoot, tmpDir } from './helpers/ort';

const bin = path.join(repoRoot, 'packages/node/bin/onnx-explain.js');
const BERT = 'models/sentiment_bert.onnx';
const BERT_TOK = 'models/sentiment_bert.tokenizer.json';
const GPT = 'models/facts_gpt.onnx';
const GPT_TOK = 'models/facts_gpt.tokenizer.json';
const dir = tmpDir('cli-text');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

test('attribute --text: the JSON equals the library, the report names the cut, the baseline and the delta', async () => {
  const out = path.join(dir, 'bert.json');
  const text = 'honestly , the plot was not good .';
  const r = cli('attribute', BERT, '--text', text, '--tokenizer', BERT_TOK, '--steps', '64', '--json', out);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/at '\/word_embeddings\/Gather_output_0'/);
  expect(r.out).toMatch(/^baseline {3}padding token in place of each token \(\[CLS\]\/\[SEP\] kept\)$/m);
  expect(r.out).toMatch(/^tokens {5}\[CLS\] \+0\.000 \| honestly [-+]\d\.\d{3} .* \| not -\d\.\d{3} \| good \+\d\.\d{3} \| \. [-+]\d\.\d{3} \| \[SEP\] \+0\.000$/m);
  // no colour codes when stdout is not a terminal
  expect(r.out).not.toMatch(/\x1b\[/);
  const ex = await NodeExplainer.load(path.join(repoRoot, BERT), { device: 'cpu' });
  const lib = await ex.explainText(await loadTokenizer(path.join(repoRoot, BERT_TOK)), text, { steps: 64 });
  await ex.release();
  const got = json(out);
  expect(got.tokens).toEqual(lib.tokens);
  expect(got.ids).toEqual(lib.ids);
  got.scores.forEach((v: number, i: number) => expect(v).toBeCloseTo(lib.scores[i], 5));
  expect(got.delta).toBeCloseTo(lib.result.delta![0], 5);
  expect(got.class).toBe(0);
});

test('attribute --text with feature ablation and --color always: ANSI backgrounds and a legend', () => {
  const r = cli('attribute', BERT, '--text', 'the acting was really brilliant .', '--tokenizer', BERT_TOK, '--method', 'feature-ablation', '--color', 'always');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^method {5}feature-ablation/m);
  expect(r.out).toMatch(/\x1b\[48;2;\d+;\d+;\d+m\x1b\[38;2;0;0;0mbrilliant\x1b\[0m/);
  expect(r.out).toMatch(/legend .*0 /);
});

test('generate: the greedy continuation and every row of the matrix equal the library; JSON, HTML and PNG written', async () => {
  const out = path.join(dir, 'gen.json');
  const html = path.join(dir, 'gen.html');
  const png = path.join(dir, 'gen.png');
  const r = cli('generate', GPT, '--tokenizer', GPT_TOK, '--prompt', 'the capital of france is', '--max-new-tokens', '2', '--steps', '32', '--json', out, '--html', html, '--png', png);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^generated {2} paris \.$/m);
  expect(r.out).toMatch(/^token {6} paris {2}log p -0\.\d{4} {2}delta /m);
  const ex = await NodeExplainer.load(path.join(repoRoot, GPT), { device: 'cpu' });
  const lib = await ex.explainGeneration('the capital of france is', { maxNewTokens: 2, steps: 32 }, await loadTokenizer(path.join(repoRoot, GPT_TOK)));
  await ex.release();
  const got = json(out);
  expect(got.ids).toEqual(lib.ids);
  expect(got.matrix.length).toBe(2);
  got.matrix.forEach((row: (number | null)[], i: number) => row.forEach((v, j) => (v === null ? expect(lib.matrix[i][j]).toBeNull() : expect(v).toBeCloseTo(lib.matrix[i][j]!, 5))));
  const page = new JSDOM(fs.readFileSync(html, 'utf8')).window.document;
  expect(page.querySelectorAll('table tr')).toHaveLength(3);
  const img = PNG.sync.read(fs.readFileSync(png));
  expect(img.width).toBeGreaterThan(100);
});

test('generate over given ids with feature ablation: the baseline token is named, the prompt shown as ids without a tokenizer', () => {
  const r = cli('generate', GPT, '--prompt-ids', '257,270,263,421,262', '--continuation-ids', '509', '--method', 'feature-ablation', '--baseline', '539');
  expect(r.err).toBe('');
  expect(r.out).toMatch(/^baseline {3}token 539 in place of each token/m);
  expect(r.out).toMatch(/^prompt {5}#257 #270 #263 #421 #262$/m);
  expect(r.out).toMatch(/^given {6}#509$/m);
});

test('inspect says what a text model takes, where its token embedding is, and which command explains it', () => {
  const r = cli('inspect', GPT);
  expect(r.out).toMatch(/^text model token ids 'input_ids'; token embedding '\/wte\/Gather_output_0' \(the gradient methods attribute there\)$/m);
  expect(r.out).toMatch(/^ {11}explain it with: onnx-explain generate models\/facts_gpt\.onnx --tokenizer tokenizer\.json --prompt "\.\.\."$/m);
  const j = JSON.parse(cli('inspect', BERT, '--json').out);
  expect(j.text).toEqual({ ids: 'input_ids', embedding: '/word_embeddings/Gather_output_0', kind: 'classifier' });
  expect(cli('inspect', 'models/digits_cnn.onnx').out).not.toMatch(/text model/);
});

test.each([
  [['attribute', BERT, '--text', 'hi'], /--text needs --tokenizer FILE/],
  [['attribute', BERT, '--text', 'hi', '--tokenizer', 'models/nope.json'], /tokenizer file 'models\/nope\.json' cannot be read/],
  [['attribute', BERT, '--text', 'hi', '--tokenizer', 'models/models.json'], /not a Hugging Face tokenizer\.json/],
  [['attribute', BERT, '--text', 'hi', '--tokenizer', BERT_TOK, '--baseline', 'blank'], /--baseline for text is pad .* got 'blank'/],
  [['attribute', BERT, '--text', 'hi', '--tokenizer', BERT_TOK, '--method', 'grad-cam'], /grad-cam attributes at a convolution layer/],
  [['generate', GPT, '--tokenizer', GPT_TOK], /give the prompt as --prompt TEXT/],
  [['generate', GPT, '--prompt-ids', '5,x'], /--prompt-ids takes token ids/],
  [['generate', GPT, '--prompt-ids', '5,9999'], /token id 9999 is not in the model's vocabulary \(0 to 539\)/],
  [['generate', GPT, '--prompt', 'the'], /--prompt is text: it needs --tokenizer/],
  [['generate', BERT, '--prompt-ids', '2,7'], /a decoder's logits are \[batch, sequence, vocabulary\]; output 'logits' has rank 2/],
])('%j is refused in a line', (args, message) => {
  const r = cli(...(args as string[]));
  expect(r.code).not.toBe(0);
  expect(r.err).toMatch(message);
  expect(r.err.trim().split('\n')).toHaveLength(1);
});

describe('views: tokens are data', () => {
  const hostile = ['<script>alert(1)</script>', '" onmouseover="alert(2)', '<img src=x onerror=alert(3)>', 'a&b'];

  test('a token holding <script> renders as text in the HTML page: no element made of it, its text is the literal string', () => {
    const html = tokensHtml('<b>title</b>', [{ heading: '<i>h</i>', tokens: hostile, scores: [1, -1, 0.5, 0] }], { rowLabels: ['<script>x</script>'], columnLabels: hostile, values: [[1, -1, null, 0]] });
    const doc = new JSDOM(html).window.document;
    expect(doc.querySelectorAll('script, img, b, i')).toHaveLength(0);
    expect(Array.from(doc.querySelectorAll('span.tok'), (s) => s.textContent!.replace(/\u2423/g, ' '))).toEqual(hostile);
    expect(doc.querySelector('title')!.textContent).toBe('<b>title</b>');
    expect(doc.querySelector('tr:nth-child(2) th')!.textContent).toBe('<script>x</script>');
    // and the page forbids scripts outright
    expect(doc.querySelector('meta[http-equiv="Content-Security-Policy"]')!.getAttribute('content')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(escapeHtml(`<'&">`)).toBe('&lt;&#39;&amp;&quot;&gt;');
  });

  test('the CLI page of a prompt with markup in it: its tokens are text and read back as the prompt', () => {
    const html = path.join(dir, 'hostile.html');
    const prompt = 'the <script>alert(1)</script><img src=x onerror=alert(2)>';
    const r = cli('generate', GPT, '--tokenizer', GPT_TOK, '--prompt', prompt, '--max-new-tokens', '1', '--method', 'feature-ablation', '--html', html);
    expect(r.code).toBe(0);
    const doc = new JSDOM(fs.readFileSync(html, 'utf8')).window.document;
    expect(doc.querySelectorAll('script, img')).toHaveLength(0);
    // the first row's tokens are the prompt's, split by byte-level BPE; joined they are the prompt itself
    const first = doc.querySelectorAll('body > div')[0];
    const tokens = Array.from(first.querySelectorAll('span.tok'), (s) => s.textContent!.replace(/\u2423/g, ' '));
    expect(tokens.length).toBeGreaterThan(10);
    expect(tokens.join('')).toBe(prompt);
  });

  test('terminal: control characters in a token are escaped, not sent to the terminal', () => {
    const line = ansiTokens(['ok', '\x1b[2Jgone\r'], [1, -1]);
    expect(line).toContain('\\u001b[2Jgone\\u000d');
    expect(line.match(/\x1b\[/g)).toHaveLength(6);
  });
});
