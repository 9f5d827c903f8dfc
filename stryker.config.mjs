// @ts-check
/**
 * Mutation testing with StrykerJS: `npx --yes pnpm@10 mutation [module ...]`
 * (scripts/mutation/run.mjs; modules are listed in MODULES below, default: all).
 * Not part of `pnpm test` nor of CI: too slow. Reports go to reports/mutation/
 * (git-ignored): index.html, mutation.json, survivors.md, and the incremental
 * file that lets the next run re-test only mutants whose code or covering
 * tests changed.
 *
 * How the runs stay meaningful (see scripts/mutation/prepare-sandbox.js and
 * scripts/mutation/subprocess-coverage.js):
 *  - jest runs the sandbox's instrumented sources (moduleNameMapper maps
 *    @onnx-explain/core|node to <rootDir>/packages/<pkg>/src, and <rootDir> is
 *    the sandbox);
 *  - the buildCommand rebuilds packages/core and packages/node dist from the
 *    instrumented sources and links the workspace packages inside the
 *    sandbox, so the CLI tests' subprocesses run the active mutant too;
 *  - the subprocesses report the mutants they reach back to the test that
 *    spawned them, so per-test coverage includes CLI-only paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

/**
 * font.ts starts with GLYPHS, a 3x5 bitmap table: mutating its strings and
 * arrays gives ~90 mutants that all run at module load (static mutants, which
 * run every test) and say nothing about the code. Only the code after the
 * table is mutated.
 */
function fontCode() {
  const file = 'packages/core/src/viz/font.ts';
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^const GLYPHS\b/.test(l));
  const end = start < 0 ? -1 : lines.findIndex((l, i) => i > start && /^};/.test(l));
  if (start < 0 || end < 0) return [file];
  const ranges = [];
  if (start > 0) ranges.push(`${file}:1-${start}`);
  if (end + 2 <= lines.length) ranges.push(`${file}:${end + 2}-${lines.length}`);
  return ranges;
}

/** What `pnpm mutation <module>` mutates. */
export const MODULES = {
  methods: ['packages/core/src/methods/**/*.ts'],
  trees: ['packages/core/src/trees/**/*.ts'],
  checkInput: ['packages/core/src/checkInput.ts'],
  io: ['packages/core/src/io/**/*.ts'],
  viz: ['packages/core/src/viz/**/*.ts', '!packages/core/src/viz/font.ts', ...fontCode()],
  externalData: ['packages/core/src/onnx/externalData.ts'],
  nodeGuards: ['packages/node/src/modelFile.ts', 'packages/node/src/inputFile.ts', 'packages/node/src/readFile.ts'],
};

const selected = (process.env.MUTATION_MODULES || Object.keys(MODULES).join(',')).split(',').filter(Boolean);
for (const m of selected) {
  if (!MODULES[m]) throw new Error(`stryker.config.mjs: unknown module "${m}" (known: ${Object.keys(MODULES).join(', ')})`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'pnpm',
  // pnpm does not hoist the plugins next to @stryker-mutator/core, where Stryker's default
  // "@stryker-mutator/*" glob looks for them: name them by their resolved files.
  plugins: [import.meta.resolve('@stryker-mutator/jest-runner'), import.meta.resolve('@stryker-mutator/typescript-checker')],
  testRunner: 'jest',
  jest: {
    configFile: 'jest.mutation.config.js',
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  mutate: selected.flatMap((m) => MODULES[m]),
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },

  // The machine has 2 cores and is shared: one test runner (and one checker).
  concurrency: 1,
  // A mutant's time limit is timeoutFactor x (its covering tests' time in the dry run)
  // + timeoutMS + the dry run's overhead. With Stryker's default 5 s, and 10 s too, nearly
  // every mutant covered by the CLI tests was reported as a timeout on this shared 2-core
  // machine (a test runner that times out is restarted, and the restarted one's first run is
  // slower still). Real hangs are cut short anyway: an in-process loop by Stryker's hit
  // limit, a CLI subprocess by subprocess-coverage.js (50 s), a stuck promise by jest's
  // testTimeout (60 s; a failed test, so 'killed').
  timeoutMS: 60000,
  timeoutFactor: 1.5,
  dryRunTimeoutMinutes: 10,

  // Stryker splits the command on spaces (no shell, no quotes): the script joins its arguments again.
  buildCommand: `node scripts/mutation/prepare-sandbox.js ${root}`,
  // prepare-sandbox.js links node_modules itself (so that the workspace links point inside the sandbox).
  symlinkNodeModules: false,
  ignorePatterns: [
    '/reports',
    '/artifacts',
    '/bench',
    '/coverage',
    '/tmp',
    '/packages/web/dist-app',
    '/packages/*/dist',
    '/test/wild',
    '/.ci',
  ],

  // Static mutants (reached while a test file loads: module-level tables, but here mostly
  // .npy samples parsed at the top of test files and fixtures built in beforeAll) run every
  // related test; io has ~65% of them and takes ~9 s a mutant. `--ignoreStatic` is quicker
  // (~4.6 s) but runs such a mutant against only the tests that reach it from inside a test
  // body, missing kills made at load time (more survivors, flagged "(static)" in
  // survivors.md), and leaves purely static ones out: fine for a quick look, off by default.
  ignoreStatic: false,

  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',

  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: false },
  thresholds: { high: 80, low: 60, break: null },

  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
