#!/usr/bin/env node
/**
 * `npx --yes pnpm@10 mutation [module ...] [stryker options]`
 *
 * Runs Stryker (stryker.config.mjs) on the named modules (all when none is
 * named), then writes reports/mutation/survivors.md from the JSON report.
 * Modules: see MODULES in stryker.config.mjs. Other arguments go to
 * `stryker run` as they are, e.g. `--force` (ignore the incremental file),
 * `--concurrency 2`, `--dryRunOnly`.
 *
 * Incremental mode is on: each run re-tests only the mutants whose code or
 * covering tests changed, and keeps the results of modules it did not run,
 * so `pnpm mutation methods` then `pnpm mutation viz` leaves both in the
 * reports.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { MODULES } = await import(path.join(root, 'stryker.config.mjs'));

const args = process.argv.slice(2);
const modules = [];
while (args.length && !args[0].startsWith('-')) modules.push(args.shift());
for (const m of modules) {
  if (!MODULES[m]) {
    console.error(`mutation: unknown module "${m}"; known: ${Object.keys(MODULES).join(', ')}`);
    process.exit(2);
  }
}

const env = { ...process.env };
if (modules.length) env.MUTATION_MODULES = modules.join(',');
else delete env.MUTATION_MODULES;

const stryker = path.join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
const started = Date.now();
const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...args], { cwd: root, env, stdio: 'inherit' });
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`mutation: stryker ran ${minutes} min on ${modules.length ? modules.join(', ') : 'all modules'} (exit ${run.status ?? run.signal})`);

const json = path.join(root, 'reports/mutation/mutation.json');
if (fs.existsSync(json) && !args.includes('--dryRunOnly')) {
  const out = spawnSync(process.execPath, [path.join(root, 'scripts/mutation/survivors.mjs'), json, path.join(root, 'reports/mutation/survivors.md')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (out.status !== 0) process.exit(out.status ?? 1);
}
process.exit(run.status ?? 1);
