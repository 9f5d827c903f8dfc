/**
 * A model file is untrusted input. Models whose input, output, node and
 * producer names, doc string, metadata and file name carry script in several
 * forms are opened in the built dashboard (Debian's Chromium, served by
 * `vite preview`) through its file picker, and one is explained. No script
 * may run (a sentinel global stays unset, no dialog opens, no inline script
 * or handler is even attempted), the names must show as literal text, and the
 * page must carry its Content-Security-Policy, as a header and a meta tag.
 * The policy is also shown to contain a slip: markup injected on purpose runs
 * no handler. Skipped, saying so, where /usr/bin/chromium is missing.
 */
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { DataType, GraphBuilder, encodeModel, makeModel } from '@onnx-explain/core';
import { useDashboardInChromium } from '../helpers/preview';

const dash = useDashboardInChromium('hostile-model tests');

/** Each sets window.__pwned (or opens a dialog) if it is ever parsed as HTML or run. */
const PAYLOADS = [
  `<img src=x onerror="window.__pwned='img'">`,
  `"><svg onload="window.__pwned='svg'">`,
  `</script><script>window.__pwned='script'</script>`,
  `javascript:window.__pwned='js-url'`,
  `<a href="javascript:window.__pwned='href'" id=clickme>click</a>`,
  `<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>`,
  `' onfocus='window.__pwned="attr"' autofocus x='`,
  `<details open ontoggle="window.__pwned='toggle'">`,
  `<img src=x onerror=alert(document.domain)>`,
];

/** x [N, 4] -> MatMul -> Hardmax -> y [N, 2]; Hardmax has no gradient rule, so the explanation names the node. */
function hostileModel(p: string): Uint8Array {
  const b = new GraphBuilder(`${p} graph`);
  const x = b.input(p, DataType.FLOAT, ['N', 4]);
  const w = b.constant(Float32Array.from([0.5, -1, 0.25, 2, -0.75, 0.1, 1, -0.5]), [4, 2], { name: `${p} w` });
  const h = b.op('MatMul', [x, w], {}, { name: `${p} matmul`, output: `${p} h` });
  b.op('Hardmax', [h], {}, { name: `${p} sin`, output: `${p} y` });
  b.output(`${p} y`, DataType.FLOAT, ['N', 2]);
  const model = makeModel(b.build(), { opset: 17, producerName: `${p} producer` });
  model.producerVersion = p;
  model.docString = `${p} doc`;
  model.metadataProps = [{ key: `${p} key`, value: `${p} value` }];
  return encodeModel(model);
}

interface Watch {
  page: Page;
  dialogs: string[];
  cspHeader?: string;
  violations: () => Promise<{ directive: string; blocked: string; sample: string }[]>;
  pwned: () => Promise<unknown>;
}

async function open(): Promise<Watch> {
  const page = await dash.browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // before any page script: record every CSP violation (an attempted inline script or handler shows here)
  await page.addInitScript(() => {
    const w = window as unknown as { __violations: unknown[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }),
    );
  });
  const res = await page.goto(`${dash.url}?ep=wasm`);
  await page.waitForFunction(() => window.__onnxExplain?.ready === true, undefined, { timeout: 30000 });
  return {
    page,
    dialogs,
    cspHeader: res?.headers()['content-security-policy'],
    violations: () => page.evaluate(() => (window as unknown as { __violations: { directive: string; blocked: string; sample: string }[] }).__violations),
    pwned: () => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned),
  };
}

/** Violations other than protobufjs' probe for Node's require (an eval in a try/catch, refused by the policy as it should be). */
const inlineViolations = (v: { directive: string; blocked: string }[]) => v.filter((x) => x.blocked !== 'eval');

const maybe = dash.have ? test : test.skip;

maybe('the page is served with its Content-Security-Policy, as a header and as a meta tag', async () => {
  const w = await open();
  expect(w.cspHeader).toBeDefined();
  const header = w.cspHeader!;
  expect(header).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  expect(header).toMatch(/object-src 'none'/);
  expect(header).not.toContain("'unsafe-inline'");
  expect(header).not.toContain("'unsafe-eval'");
  const meta = await w.page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.getAttribute('content'));
  expect(meta).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  // the policy contains a slip: markup written as HTML on purpose runs no handler
  await w.page.evaluate(() => {
    const div = document.createElement('div');
    div.innerHTML = `<img src="data:," onerror="window.__pwned='slip'">`;
    document.body.append(div);
  });
  await w.page.waitForTimeout(300);
  expect(await w.pwned()).toBeUndefined();
  expect((await w.violations()).some((v) => v.directive === 'script-src-attr' || v.directive === 'script-src')).toBe(true);
  await w.page.close();
}, 120000);

maybe('hostile names, producer and metadata show as literal text and run nothing; an explanation names the node as text', async () => {
  const w = await open();
  for (const [i, p] of PAYLOADS.entries()) {
    const file = `${p.replace(/\//g, '_')}.onnx`; // a file name has no '/'
    await w.page.setInputFiles('#model-file', { name: file, mimeType: 'application/octet-stream', buffer: Buffer.from(hostileModel(p)) });
    await w.page.waitForFunction((name) => document.getElementById('model-name')?.textContent === name, file, { timeout: 30000 });
    const info = await w.page.$eval('#model-info', (el) => ({
      text: el.textContent ?? '',
      cells: Array.from(el.querySelectorAll('td'), (td) => td.textContent),
      injected: el.querySelectorAll('img, svg, script, iframe, a, details, style').length,
    }));
    expect(info.injected).toBe(0);
    // each string exactly, as a table cell or in the text
    expect(info.cells).toEqual(expect.arrayContaining([p, `${p} y`, `${p} key`, `${p} value`]));
    expect(info.text).toContain(`${p} producer ${p}`);
    expect(info.text).toContain(`${p} doc`);
    expect(info.text).toContain('finite differences (no gradient rule for Hardmax)');
    if (i === 0 || i === PAYLOADS.length - 1) {
      // explain it: the finite-difference reason names the node, as text
      await w.page.fill('#tabular-values', '1, 2, 3, 4');
      await w.page.fill('#steps', '8');
      const before = await w.page.evaluate(() => window.__onnxExplain.runs);
      await w.page.click('#run');
      await w.page.waitForFunction((n) => window.__onnxExplain.runs > n || !!window.__onnxExplain.error, before, { timeout: 60000 });
      expect(await w.page.evaluate(() => window.__onnxExplain.error)).toBeUndefined();
      const reason = await w.page.$eval('#fd-reason', (el) => ({ text: el.textContent ?? '', children: el.children.length }));
      expect(reason.children).toBe(0);
      // the reason names the node, as text: 'no gradient rule or lowering for Hardmax (NAME)'
      expect(reason.text).toContain(`Hardmax (${p} sin)`);
      const summary = await w.page.$eval('#result-section', (el) => el.querySelectorAll('img, svg, script, iframe, a, details').length);
      expect(summary).toBe(0);
      if (i === 0) await w.page.screenshot({ path: path.join(dash.artifacts, 'dashboard-hostile.png'), fullPage: true });
    }
  }
  // a javascript: or data: URL in the URL box is refused, naming the scheme
  for (const url of [`javascript:window.__pwned='url'`, 'data:application/octet-stream;base64,AAAA']) {
    await w.page.fill('#model-url', url);
    await w.page.click('#model-url-load');
    await w.page.waitForFunction(() => !!window.__onnxExplain.error, undefined, { timeout: 10000 });
    expect(await w.page.evaluate(() => window.__onnxExplain.error)).toMatch(/scheme is (javascript|data):, only http: and https: are loaded/);
  }
  await w.page.waitForTimeout(300);
  expect(await w.pwned()).toBeUndefined();
  expect(w.dialogs).toEqual([]);
  expect(inlineViolations(await w.violations())).toEqual([]);
  await w.page.close();
}, 300000);
