/**
 * The dashboard as users serve it: `vite build`, then `vite preview` (with the
 * headers packages/web/vite.config.ts sets: the Content-Security-Policy and
 * cross-origin isolation) on 127.0.0.1 at a free port. Stopped by close().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Browser } from 'playwright-core';
import * as path from 'node:path';
import { repoRoot } from './ort';

const webDir = path.join(repoRoot, 'packages/web');
const vite = path.join(webDir, 'node_modules/vite/bin/vite.js');

export function buildDashboard(): void {
  const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'error'], { cwd: webDir, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`vite build failed: ${build.stderr}`);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function previewDashboard(): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: webDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}): ${log}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`vite preview did not answer on ${url} within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** Debian's Chromium (never a browser download); the browser tests skip, saying so, without it. */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * The built dashboard under `vite preview` and a Chromium to open it, started
 * before a test file's tests and stopped after them. `have` is false (and the
 * skip is said on stderr) where Debian's Chromium is missing.
 */
export function useDashboardInChromium(what: string) {
  const have = fs.existsSync(CHROMIUM);
  if (!have) process.stderr.write(`${what} skipped: ${CHROMIUM} is not installed (apt-get install chromium)\n`);
  const ctx = { have, artifacts: path.join(repoRoot, 'artifacts'), url: '', browser: undefined as unknown as Browser };
  let server: { url: string; close: () => Promise<void> } | undefined;
  beforeAll(async () => {
    if (!have) return;
    buildDashboard();
    server = await previewDashboard();
    ctx.url = server.url;
    ctx.browser = await launchChromium();
    fs.mkdirSync(ctx.artifacts, { recursive: true });
  }, 120000);
  afterAll(async () => {
    await ctx.browser?.close();
    await server?.close();
  });
  return ctx;
}
