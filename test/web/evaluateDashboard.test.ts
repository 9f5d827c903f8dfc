/**
 * The dashboard's Evaluate section (issue 16) in Debian's Chromium: after an
 * IG run on the digits CNN, Evaluate shows infidelity, sensitivity-max, the
 * deletion and insertion AUCs and completeness, and the numbers shown equal
 * what core's metrics compute in Node (OrtNodeRuntime) for the same model,
 * input and options (relative 1e-3: the page runs onnxruntime-web's wasm).
 * The curves are drawn on a canvas. For a text model explained at its
 * embedding layer the button is disabled, saying why. Skipped, saying so,
 * where /usr/bin/chromium is missing.
 */
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { OrtNodeRuntime, loadModelFile, readInputFile, toTensor } from '@onnx-explain/node';
import { Explainer, explainWith, infidelity, sensitivityMax, deletionCurve, completenessOf } from '@onnx-explain/core';
import { repoRoot } from '../helpers/ort';
import { useDashboardInChromium } from '../helpers/preview';

const dash = useDashboardInChromium('evaluate dashboard tests');
const maybe = dash.have ? test : test.skip;

async function openPage(): Promise<Page> {
  const page = await dash.browser.newPage({ viewport: { width: 1100, height: 1600 } });
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${dash.url}?ep=wasm`);
  await page.waitForFunction(() => window.__onnxExplain?.ready === true, undefined, { timeout: 30000 });
  return page;
}

async function runExample(page: Page, example: string, sample: string | undefined, steps: number): Promise<void> {
  await page.click(`button[data-example="${example}"]`);
  await page.waitForFunction((k) => window.__onnxExplain.opened === k, example, { timeout: 30000 });
  // Run waits for a sample still loading
  if (sample) await page.click(`button.sample[data-sample="${sample}"]`);
  await page.selectOption('#method', 'ig');
  await page.fill('#steps', String(steps));
  const before = await page.evaluate(() => window.__onnxExplain.runs);
  await page.click('#run');
  await page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 240000 });
  const err = await page.evaluate(() => window.__onnxExplain.error);
  if (err) throw new Error(`the page failed: ${err}`);
}

/** The number a metric's line shows (its text, not the page's state). */
async function shown(page: Page, id: string): Promise<number> {
  const text = await page.$eval(`#${id} .metric-value`, (e) => e.textContent ?? '');
  const v = Number(text.split(' ')[0]);
  if (!Number.isFinite(v)) throw new Error(`#${id} shows '${text}', not a number`);
  return v;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

maybe('digits CNN, IG 16 steps: Evaluate shows the metrics Node computes, and draws the curves', async () => {
  const page = await openPage();
  await runExample(page, 'digits_cnn', 'digit_3', 16);
  expect(await page.$eval('#evaluate', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
  await page.click('#evaluate');
  await page.waitForFunction(() => (window.__onnxExplain.evaluations ?? 0) > 0 || !!window.__onnxExplain.error, undefined, { timeout: 240000 });
  const state = await page.evaluate(() => window.__onnxExplain);
  expect(state.error).toBeUndefined();
  const ev = state.lastEvaluation as { featureMask: string };
  expect(ev.featureMask).toBe('elements');

  // Node: the same model, the digit_3 sample the example opens with, the same options
  const { model } = await loadModelFile(path.join(repoRoot, 'models/digits_cnn.onnx'));
  const ex = new Explainer(new OrtNodeRuntime(), model);
  try {
    const x = { [ex.summary.inputs[0].name]: toTensor(await readInputFile(path.join(repoRoot, 'models/samples/digit_3.npy'))) };
    const result = await explainWith(ex, x, { method: 'ig', steps: 16, integration: 'gausslegendre', baselines: 'zeros' });
    const target = result.classes;
    const inf = await infidelity(ex, x, result.attributions, { target, samples: 10, seed: 1 });
    const sens = await sensitivityMax(ex, x, { method: 'ig', steps: 16, integration: 'gausslegendre', target, perturbSamples: 5, perturbSeed: 1 });
    const del = await deletionCurve(ex, x, result.attributions, { target, mode: 'deletion', featureMask: 'elements' });
    const ins = await deletionCurve(ex, x, result.attributions, { target, mode: 'insertion', featureMask: 'elements' });
    const comp = completenessOf(result)!;

    const page_ = {
      infidelity: await shown(page, 'metric-infidelity'),
      sensitivity: await shown(page, 'metric-sensitivity'),
      deletion: await shown(page, 'metric-deletion'),
      insertion: await shown(page, 'metric-insertion'),
    };
    const node = { infidelity: inf.infidelity[0], sensitivity: sens.sensitivity[0], deletion: del.auc[0], insertion: ins.auc[0] };
    process.stderr.write(`evaluate: page ${JSON.stringify(page_)} node ${JSON.stringify(node)} completeness ${comp.delta[0]}\n`);
    expect(rel(page_.infidelity, node.infidelity)).toBeLessThan(1e-3);
    expect(rel(page_.deletion, node.deletion)).toBeLessThan(1e-3);
    expect(rel(page_.insertion, node.insertion)).toBeLessThan(1e-3);
    expect(rel(page_.sensitivity, node.sensitivity)).toBeLessThan(1e-3);
    expect(await page.$eval('#metric-completeness .metric-value', (e) => e.textContent)).toMatch(/% of the output change/);
  } finally {
    await ex.release();
  }

  // each number comes with what it means
  const help = await page.$$eval('#evaluate-view .metric-help', (els) => els.map((e) => e.textContent ?? ''));
  expect(help).toHaveLength(5);
  expect(help[0]).toMatch(/Lower is better/);
  expect(help[3]).toMatch(/Higher is better/);
  // the curves are drawn: a canvas of non-zero size with more than the background on it
  const canvas = await page.$eval('#evaluate-curves', (e) => {
    const c = e as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return { w: c.width, h: c.height, colours: seen.size };
  });
  expect(canvas.w).toBeGreaterThan(0);
  expect(canvas.h).toBeGreaterThan(0);
  expect(canvas.colours).toBeGreaterThan(2);
  await page.screenshot({ path: path.join(dash.artifacts, 'dashboard-evaluate.png'), fullPage: true });

  // Cancel stops an evaluation: no error, the old results cleared, the buttons back
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // an evaluation of 64 pixels takes a fraction of a second: Cancel is pressed in the same task as Evaluate
  await page.evaluate(() => {
    document.getElementById('evaluate')!.click();
    document.getElementById('cancel')!.click();
  });
  await page.waitForFunction(() => document.getElementById('progress-text')!.textContent === 'cancelled', undefined, { timeout: 60000 });
  expect(await page.evaluate(() => [window.__onnxExplain.error, window.__onnxExplain.evaluations])).toEqual([undefined, 1]);
  expect(await page.$$('#evaluate-view .metric')).toHaveLength(0);
  expect(await page.$eval('#evaluate', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
  expect(await page.$eval('#run', (e) => (e as HTMLButtonElement).disabled)).toBe(false);
  expect(errors).toEqual([]);
  await page.close();
}, 400000);

maybe('a text model explained at its embedding: Evaluate is disabled, saying why', async () => {
  const page = await openPage();
  await runExample(page, 'text_classifier', undefined, 8);
  expect(await page.$eval('#evaluate', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
  expect(await page.$eval('#evaluate-note', (e) => e.textContent)).toMatch(/at a layer .*cannot perturb/);
  await page.close();
}, 300000);
