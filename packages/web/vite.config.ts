/**
 * Builds the dashboard into dist-app/: a static site a team can host or
 * embed. onnxruntime-web's wasm files and the repo's example models are
 * copied next to it (ort/ and examples/). The built page carries its
 * Content-Security-Policy as a meta tag, and `vite preview` serves it as a
 * header with the cross-origin isolation headers (src/csp.ts).
 */
import { defineConfig, type Plugin } from 'vite';
import { resolve } from 'node:path';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { CONTENT_SECURITY_POLICY_META, DASHBOARD_HEADERS } from './src/csp';

const here = __dirname;
const ortDist = resolve(here, 'node_modules/onnxruntime-web/dist');
const models = resolve(here, '../../models');

function copyAssets(): Plugin {
  return {
    name: 'onnx-explain-assets',
    writeBundle(options) {
      const out = options.dir ?? resolve(here, 'dist-app');
      mkdirSync(resolve(out, 'ort'), { recursive: true });
      for (const f of readdirSync(ortDist)) {
        if (/^ort-wasm-simd-threaded(\.jsep)?\.(wasm|mjs)$/.test(f)) copyFileSync(resolve(ortDist, f), resolve(out, 'ort', f));
      }
      mkdirSync(resolve(out, 'examples/samples'), { recursive: true });
      for (const f of readdirSync(models)) {
        if (/\.(onnx|json)$/.test(f)) copyFileSync(resolve(models, f), resolve(out, 'examples', f));
      }
      for (const f of readdirSync(resolve(models, 'samples'))) copyFileSync(resolve(models, 'samples', f), resolve(out, 'examples/samples', f));
    },
  };
}

/** The policy as the built page's first head element (not in `vite dev`, whose injected styles it would block). */
function cspMeta(): Plugin {
  return {
    name: 'onnx-explain-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META }, injectTo: 'head-prepend' }],
  };
}

// the dev server gets cross-origin isolation (wasm threads) but not the policy, which would block its injected styles
const { 'Cross-Origin-Opener-Policy': coop, 'Cross-Origin-Embedder-Policy': coep } = DASHBOARD_HEADERS;

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    alias: { '@onnx-explain/core': resolve(here, '../core/src/index.ts') },
  },
  build: { outDir: 'dist-app', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  plugins: [copyAssets(), cspMeta()],
  preview: { headers: DASHBOARD_HEADERS },
  server: { headers: { 'Cross-Origin-Opener-Policy': coop, 'Cross-Origin-Embedder-Policy': coep } },
});
