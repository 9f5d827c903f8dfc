/**
 * Preloaded (NODE_OPTIONS=--require) into processes that tests spawn during
 * Stryker's dry run (see subprocess-coverage.js): marks the process's
 * mutant hits with the spawning test's id and writes them to a file on exit.
 */
const fs = require('node:fs');

const file = process.env.STRYKER_CHILD_COVERAGE_FILE;
if (file) {
  const ns = (globalThis.__stryker__ = globalThis.__stryker__ || {});
  if (process.env.STRYKER_CHILD_TEST_ID) ns.currentTestId = process.env.STRYKER_CHILD_TEST_ID;
  // Grandchildren write their own file only if they are asked to: not inherited.
  delete process.env.STRYKER_CHILD_COVERAGE_FILE;
  process.on('exit', () => {
    if (ns.mutantCoverage) fs.writeFileSync(file, JSON.stringify(ns.mutantCoverage));
  });
}
