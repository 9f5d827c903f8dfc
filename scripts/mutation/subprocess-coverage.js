/**
 * jest setupFilesAfterEnv for mutation runs only (jest.mutation.config.js).
 *
 * Some tests spawn the CLI (or node on packages/core/dist) with spawnSync. In
 * Stryker's sandbox that code is built from the instrumented sources
 * (scripts/mutation/prepare-sandbox.js) and the active mutant reaches the
 * child in __STRYKER_ACTIVE_MUTANT__, but the mutants the child executes
 * would not count as covered by the test that spawned it: with
 * coverageAnalysis 'perTest', Stryker would then never run that test against
 * them (mutants reached only through the CLI would be 'no coverage').
 *
 * This wraps child_process.spawnSync while a test file runs:
 *  - in Stryker's dry run, the child gets child-coverage.js preloaded (via
 *    NODE_OPTIONS) with the current test's id; it writes the mutants it hit
 *    to a file, merged here into the test's coverage;
 *  - always, a child that runs past SPAWN_TIMEOUT_MS is killed (a mutant can
 *    make the CLI loop forever, and Stryker's own timeout would leave it
 *    running).
 * Outside Stryker (no __stryker__ global) nothing is changed.
 */
const cp = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SPAWN_TIMEOUT_MS = 50000; // under stryker.config.mjs's timeoutMS, so a hung CLI is a failed test
const ns = globalThis[globalThis.__strykerGlobalNamespace__ || '__stryker__'];

if (ns) {
  const original = cp.spawnSync;
  const preload = path.join(__dirname, 'child-coverage.js');
  let n = 0;
  cp.spawnSync = function spawnSyncWithMutantCoverage(command, args, options) {
    if (!Array.isArray(args)) {
      options = args;
      args = [];
    }
    options = { ...(options || {}) };
    if (options.timeout === undefined) {
      options.timeout = SPAWN_TIMEOUT_MS;
      options.killSignal = 'SIGKILL';
    }
    const dryRun = ns.activeMutant === undefined && !process.env.__STRYKER_ACTIVE_MUTANT__;
    let coverageFile;
    if (dryRun) {
      coverageFile = path.join(os.tmpdir(), `stryker-child-coverage-${process.pid}-${Date.now()}-${n++}.json`);
      const env = { ...(options.env || process.env) };
      env.NODE_OPTIONS = `${env.NODE_OPTIONS || ''} --require ${JSON.stringify(preload)}`.trim();
      env.STRYKER_CHILD_COVERAGE_FILE = coverageFile;
      env.STRYKER_CHILD_TEST_ID = ns.currentTestId || '';
      options.env = env;
    }
    try {
      return original.call(this, command, args, options);
    } finally {
      if (coverageFile && fs.existsSync(coverageFile)) {
        merge(JSON.parse(fs.readFileSync(coverageFile, 'utf8')));
        fs.rmSync(coverageFile, { force: true });
      }
    }
  };
  afterAll(() => {
    cp.spawnSync = original;
  });

  /** Adds the child's hit counts to the spawning test's coverage (or to static, outside a test). */
  function merge(childCoverage) {
    const cov = ns.mutantCoverage || (ns.mutantCoverage = { static: {}, perTest: {} });
    const target = ns.currentTestId ? (cov.perTest[ns.currentTestId] = cov.perTest[ns.currentTestId] || {}) : cov.static;
    const sources = [childCoverage.static || {}, ...Object.values(childCoverage.perTest || {})];
    for (const counts of sources) {
      for (const [id, count] of Object.entries(counts)) target[id] = (target[id] || 0) + count;
    }
  }
}
