/**
 * End to end: the built dashboard in Debian's Chromium (playwright-core, no
 * browser download), served by `vite preview` on 127.0.0.1 with its
 * Content-Security-Policy, so the policy is shown not to block the runtime. For a shipped image, tabular and
 * text model it runs IG and compares the page's attributions with the Node
 * runner's for the same input (relative L2 < 1e-4), and checks what is drawn.
 * With WebGPU (Chromium's software adapter here) the image model runs again
 * on the WebGPU EP. Skipped, saying so, where /usr/bin/chromium is missing
 * (`.ci/run` installs it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { NodeExplainer, readInputFile } from '@onnx-explain/node';
import { METHODS, METHOD_TABLE } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';
import { useDashboardInChromium } from '../helpers/preview';
import { relL2 } from '../grad/fd';
import { expectSignHues } from '../helpers/hues';

const dash = useDashboardInChromium('dashboard tests');
const artifacts = dash.artifacts;

async function openPage(ep: string): Promise<Page> {
  const page = await dash.browser.newPage({ viewport: { width: 1100, height: 1400 } });
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${dash.url}?ep=${ep}`);
  await page.waitForFunction(() => window.__onnxExplain?.ready === true, undefined, { timeout: 30000 });
  return page;
}

async function runExample(page: Page, example: string, sample: string, steps: number) {
  await page.click(`button[data-example="${example}"]`);
  await page.waitForSelector('#input-section:not([hidden]) button.sample');
  await page.click(`button.sample[data-sample="${sample}"]`);
  await page.fill('#steps', String(steps));
  const before = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 240000 });
  const state = await page.evaluate(() => window.__onnxExplain);
  if (state.error) throw new Error(`the page failed: ${state.error}`);
  return state.lastResult as { ep: string; classes: number[]; delta: number[]; steps: number; attributed: string; attributions: number[]; dims: number[] };
}

async function nodeResult(model: string, sample: string, steps: number, at?: string) {
  const ex = await NodeExplainer.load(path.join(repoRoot, 'models', model), { device: 'cpu' });
  try {
    const x = await readInputFile(path.join(repoRoot, 'models/samples', sample));
    const r = await ex.explain({ [ex.summary.inputs[0].name]: x }, { method: 'ig', steps, at });
    return { attr: Array.from(r.attributions[Object.keys(r.attributions)[0]].data as Float32Array), classes: r.classes };
  } finally {
    await ex.release();
  }
}

const maybe = dash.have ? test : test.skip;

maybe('image model: the page computes what Node computes, and draws the heatmap', async () => {
  const page = await openPage('wasm');
  const r = await runExample(page, 'digits_cnn', 'digit_3', 32);
  expect(r.ep).toBe('wasm');
  const want = await nodeResult('digits_cnn.onnx', 'digit_3.npy', 32);
  expect(r.classes).toEqual(want.classes);
  expect(relL2(r.attributions, want.attr)).toBeLessThan(1e-4);
  // the heatmap canvas is drawn: many distinct colours, not one flat fill
  const colours = await page.evaluate(() => {
    const c = document.getElementById('heatmap') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return { w: c.width, h: c.height, colours: seen.size };
  });
  expect(colours.w).toBeGreaterThan(256);
  expect(colours.colours).toBeGreaterThan(20);
  // every clearly attributed cell has its sign's hue: red for, blue against (8x8 drawn at 32 pixels a cell, 8 pixels in)
  const cells = await page.evaluate(() => {
    const c = document.getElementById('heatmap') as HTMLCanvasElement;
    const ctx = c.getContext('2d')!;
    return Array.from({ length: 64 }, (_, i) => Array.from(ctx.getImageData(8 + (i % 8) * 32 + 16, 8 + Math.floor(i / 8) * 32 + 16, 1, 1).data.slice(0, 3)));
  });
  const { pos, neg } = expectSignHues(r.attributions, (i) => cells[i]);
  expect(pos > 0 && neg > 0).toBe(true);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-image.png'), fullPage: true });
  await page.close();
}, 300000);

maybe('tabular model: attributions agree and the bar chart lists features by name', async () => {
  const page = await openPage('wasm');
  // the method list comes from the methods table (every method that needs no layer), and the fields follow the method
  const offered = await page.$$eval('#method option', (els) => els.map((e) => [(e as HTMLOptionElement).value, e.textContent]));
  expect(offered).toEqual(METHODS.filter((m) => !('needsLayer' in METHOD_TABLE[m])).map((m) => [m, METHOD_TABLE[m].label]));
  const r = await runExample(page, 'tabular_mlp', 'patient_0', 32);
  await page.selectOption('#method', 'smoothgrad');
  expect(await page.$eval('#steps', (e) => (e as HTMLInputElement).disabled)).toBe(true);
  await page.selectOption('#method', 'ig');
  expect(await page.$eval('#steps', (e) => (e as HTMLInputElement).disabled)).toBe(false);
  const want = await nodeResult('tabular_mlp.onnx', 'patient_0.npy', 32);
  expect(relL2(r.attributions, want.attr)).toBeLessThan(1e-4);
  const bars = await page.$$eval('#bars > div:nth-child(3n+1)', (els) => els.map((e) => e.textContent));
  expect(bars.length).toBe(15);
  expect(bars[0]).toMatch(/^(mean|worst|\w+ error) /);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-tabular.png'), fullPage: true });
  await page.close();
}, 300000);

maybe('text model: layer IG at the embedding agrees, tokens are coloured', async () => {
  const page = await openPage('wasm');
  const r = await runExample(page, 'text_classifier', 'review_positive', 32);
  const want = await nodeResult('text_classifier.onnx', 'review_positive.npy', 32, '/embedding/Gather_output_0');
  expect(relL2(r.attributions, want.attr)).toBeLessThan(1e-4);
  const tokens = await page.$$eval('#tokens .token', (els) => els.map((e) => [e.textContent, (e as HTMLElement).style.background]));
  expect(tokens.map((t) => t[0])).toEqual('the movie was great and the actors were fun'.split(' '));
  expect(new Set(tokens.map((t) => t[1])).size).toBeGreaterThan(3);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-text.png'), fullPage: true });
  await page.close();
}, 300000);

maybe('one page, three models in turn (text, tabular, image), each run straight after it is chosen; bad clicks land in the error box', async () => {
  const page = await openPage('wasm');
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const walk: [string, string, string, string | undefined][] = [
    ['text_classifier', 'text_classifier.onnx', 'review_positive.npy', '/embedding/Gather_output_0'],
    ['tabular_mlp', 'tabular_mlp.onnx', 'patient_0.npy', undefined],
    ['digits_cnn', 'digits_cnn.onnx', 'digit_0.npy', undefined],
  ];
  for (const [example, model, sample, at] of walk) {
    await page.click(`button[data-example="${example}"]`);
    // the example arrives with its first sample chosen: no sample click before Run
    await page.waitForFunction((k) => window.__onnxExplain.opened === k, example, { timeout: 30000 });
    await page.fill('#steps', '16');
    const before = await page.evaluate(() => window.__onnxExplain.runs);
    await page.click('#run');
    await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 240000 });
    const state = await page.evaluate(() => window.__onnxExplain);
    expect([example, state.error]).toEqual([example, undefined]);
    const r = state.lastResult as { attributions: number[]; warnings: string[] };
    const want = await nodeResult(model, sample, 16, at);
    expect([example, relL2(r.attributions, want.attr) < 1e-4]).toEqual([example, true]);
  }
  // one left-Riemann step reads the gradient at the baseline only: the page says the completeness gap is too large
  await page.selectOption('#integration', 'riemann_left');
  await page.fill('#steps', '1');
  const runs = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, runs, { timeout: 120000 });
  expect(await page.$$eval('#summary .warning', (els) => els.map((e) => e.textContent))).toEqual([expect.stringMatching(/^Check: example 0: completeness gap .* the attributions are not converged/)]);
  await page.selectOption('#integration', 'gausslegendre');
  // a model opened from a file has no input yet: Run and Predict say so in the error box, in view, with no page error
  await page.setInputFiles('#model-file', path.join(repoRoot, 'models/tabular_mlp.onnx'));
  await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'tabular_mlp.onnx');
  for (const button of ['#run', '#predict']) {
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.click(button);
    await page.waitForFunction(() => !!window.__onnxExplain.error);
    const shown = await page.evaluate(() => {
      const box = document.getElementById('error')!;
      const r = box.getBoundingClientRect();
      return { text: box.textContent, hidden: box.hidden, inView: r.top >= 0 && r.bottom <= window.innerHeight };
    });
    expect([button, shown]).toEqual([button, { text: expect.stringMatching(/give an input first|feature values/), hidden: false, inView: true }]);
    await page.evaluate(() => (window.__onnxExplain.error = undefined));
  }
  expect(pageErrors).toEqual([]);
  await page.screenshot({ path: path.join(artifacts, 'dashboard-walk.png'), fullPage: true });
  await page.close();
}, 600000);

/** Runs a method from the page with some fields filled; returns what the page shows and computed. */
async function runMethod(page: Page, example: string, sample: string, method: string, fields: Record<string, string>) {
  // the example loads its first sample after it opens: wait for that, or it may land after the sample clicked here
  await page.evaluate(() => (window.__onnxExplain.opened = undefined));
  await page.click(`button[data-example="${example}"]`);
  await page.waitForFunction((k) => window.__onnxExplain.opened === k, example, { timeout: 30000 });
  await page.click(`button.sample[data-sample="${sample}"]`);
  await page.selectOption('#method', method);
  for (const [id, v] of Object.entries(fields)) await page.fill(`#${id}`, v);
  const before = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 240000 });
  const state = await page.evaluate(() => window.__onnxExplain);
  if (state.error) throw new Error(`the page failed: ${state.error}`);
  return { result: state.lastResult as { method: string; attributed: string; attributions: number[] }, summary: await page.$eval('#summary', (e) => e.textContent ?? '') };
}

maybe('perturbation methods from the page: occlusion on the image model, kernel-shap over a grid, token ablation on the text model, as Node computes them', async () => {
  const page = await openPage('wasm');
  // the fields follow the method: occlusion reads the window, not the steps
  await page.click('button[data-example="digits_cnn"]');
  await page.waitForSelector('#input-section:not([hidden]) button.sample');
  await page.selectOption('#method', 'occlusion');
  expect(await page.$eval('#steps', (e) => (e as HTMLInputElement).disabled)).toBe(true);
  expect(await page.$eval('#window', (e) => (e as HTMLInputElement).disabled)).toBe(false);
  expect(await page.$eval('#window', (e) => (e as HTMLInputElement).title)).toMatch(/^the occluding window/);
  const node = async (model: string, sample: string, opts: Record<string, unknown>) => {
    const ex = await NodeExplainer.load(path.join(repoRoot, 'models', model), { device: 'cpu' });
    try {
      const x = await readInputFile(path.join(repoRoot, 'models/samples', sample));
      return await ex.explain({ [ex.summary.inputs[0].name]: x }, opts);
    } finally {
      await ex.release();
    }
  };
  const occ = await runMethod(page, 'digits_cnn', 'digit_3', 'occlusion', { window: '3,3', stride: '2' });
  const occWant = await node('digits_cnn.onnx', 'digit_3.npy', { method: 'occlusion', window: [3, 3], strides: [2] });
  expect(relL2(occ.result.attributions, Array.from(occWant.attributions.image.data as Float32Array))).toBeLessThan(1e-5);
  expect(occ.summary).toContain(`no gradients: the model ran ${occWant.evaluations} times`);
  const ks = await runMethod(page, 'digits_cnn', 'digit_7', 'kernel-shap', { 'feature-mask': 'grid:2x4' });
  const ksWant = await node('digits_cnn.onnx', 'digit_7.npy', { method: 'kernel-shap', featureMask: 'grid:2x4' });
  expect(relL2(ks.result.attributions, Array.from(ksWant.attributions.image.data as Float32Array))).toBeLessThan(1e-5);
  expect(ks.summary).toContain('254 coalitions (all: exact Shapley values)');
  // text: the token ids themselves are ablated (not the embedding layer the gradient methods use), and the tokens coloured
  const ab = await runMethod(page, 'text_classifier', 'review_positive', 'feature-ablation', {});
  const abWant = await node('text_classifier.onnx', 'review_positive.npy', { method: 'feature-ablation' });
  expect(ab.result.attributed).toBe('token_ids');
  expect(relL2(ab.result.attributions, Array.from(abWant.attributions.token_ids.data as Float32Array))).toBeLessThan(1e-5);
  const tokens = await page.$$eval('#tokens .token', (els) => els.map((e) => e.textContent));
  expect(tokens).toEqual('the movie was great and the actors were fun'.split(' '));
  await page.screenshot({ path: path.join(artifacts, 'dashboard-perturbation.png'), fullPage: true });
  await page.close();
}, 600000);

maybe('a tree ensemble opened from a file starts on tree-shap and computes what Node computes', async () => {
  const page = await openPage('wasm');
  const file = path.join(repoRoot, 'test/fixtures/trees/gb_regressor.onnx');
  await page.setInputFiles('#model-file', file);
  await page.waitForSelector('#input-section:not([hidden]) #tabular-values');
  // no gradient: the method list opened on what 'auto' picks for it
  expect(await page.$eval('#method', (e) => (e as HTMLSelectElement).value)).toBe('tree-shap');
  expect(await page.$eval('#model-info', (e) => e.textContent)).toContain('explain it with tree-shap (exact, read from the trees)');
  const row = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test/fixtures/trees/trees.json'), 'utf8')).models.gb_regressor.rows[0] as number[];
  await page.fill('#tabular-values', row.join(', '));
  const before = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 60000 });
  const state = await page.evaluate(() => window.__onnxExplain);
  if (state.error) throw new Error(`the page failed: ${state.error}`);
  const got = state.lastResult as { method: string; attributions: number[] };
  expect(got.method).toBe('tree-shap');
  expect(await page.$eval('#summary', (e) => e.textContent)).toContain('read from the trees (path-dependent, raw scores, node covers from hitrates)');
  const ex = await NodeExplainer.load(file, { device: 'cpu' });
  try {
    const want = await ex.explain({ x: { type: 'float32', dims: [1, row.length], data: Float32Array.from(row) } }, { method: 'tree-shap' });
    expect(got.attributions).toEqual(Array.from(want.attributions.x.data as Float32Array));
  } finally {
    await ex.release();
  }
  await page.close();
}, 300000);

maybe('WebGPU: the image model on the WebGPU EP when Chromium offers an adapter', async () => {
  const page = await openPage('auto');
  const ep = await page.evaluate(() => window.__onnxExplain.ep);
  fs.writeFileSync(path.join(artifacts, 'webgpu.txt'), `execution provider chosen with ep=auto: ${ep}\n`);
  if (ep !== 'webgpu') {
    process.stderr.write(`no WebGPU adapter in this Chromium; the dashboard chose ${ep}\n`);
    expect(ep).toBe('wasm');
    await page.close();
    return;
  }
  const r = await runExample(page, 'digits_cnn', 'digit_3', 8);
  expect(r.ep).toBe('webgpu');
  const want = await nodeResult('digits_cnn.onnx', 'digit_3.npy', 8);
  const err = relL2(r.attributions, want.attr);
  fs.appendFileSync(path.join(artifacts, 'webgpu.txt'), `relative L2 to the Node runner (8 steps): ${err}\n`);
  expect(err).toBeLessThan(1e-4);
  await page.close();
}, 600000);
