/**
 * The jest run that Stryker drives (`pnpm mutation`, see stryker.config.mjs).
 * Same as jest.config.js, less the tests that are too slow to run once per
 * mutant or that cannot report coverage to Stryker:
 *  - test/web/dashboard.test.ts, test/web/hostile.test.ts: Chromium on the
 *    built dashboard (web is not mutated, and a browser per mutant is slow);
 *  - test/wild: third-party models outside the repo (not in `pnpm test` either).
 * Additions for Stryker, all inert in a plain jest run (scripts/mutation/):
 *  - subprocess-coverage.js credits the mutants that spawned CLI processes
 *    reach to the test that spawned them;
 *  - jest-environment.js (the repo's environment) with bail.js: a mutant run
 *    stops at its first failing test; sequencer.js runs the quickest test
 *    files first in mutant runs.
 * The test environment is given as an absolute path: Stryker wraps it in its
 * own environment (for per-test coverage) and resolves the name itself,
 * without expanding <rootDir>.
 */
const path = require('node:path');
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testEnvironment: path.join(__dirname, 'scripts/mutation/jest-environment.js'),
  testSequencer: '<rootDir>/scripts/mutation/sequencer.js',
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/web/dashboard\\.test\\.ts$',
    '<rootDir>/test/web/hostile\\.test\\.ts$',
    '<rootDir>/test/wild/',
    '<rootDir>/\\.stryker-tmp/',
    '<rootDir>/reports/',
  ],
  setupFilesAfterEnv: [...(base.setupFilesAfterEnv || []), '<rootDir>/scripts/mutation/subprocess-coverage.js'],
  // Stryker replaces the reporters anyway; keep plain jest runs of this config quiet too.
  reporters: ['default'],
};
