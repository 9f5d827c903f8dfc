/**
 * Builds the dashboard into dist-app/: a static site a team can host or
 * embed. onnxruntime-web's wasm files and the repo's example models are
 * copied next to it (ort/ and examples/).
 */
import { defineConfig, type Plugin } from 'vite';
import { resolve } from 'node:path';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

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

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    alias: { '@onnx-explain/core': resolve(here, '../core/src/index.ts') },
  },
  build: { outDir: 'dist-app', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  plugins: [copyAssets()],
  // cross-origin isolation lets onnxruntime-web's wasm use threads
  preview: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
