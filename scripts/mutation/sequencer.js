/**
 * Test file order for Stryker's mutant runs (jest.mutation.config.js): the
 * quickest files first, so that with bail (bail.js) a mutant is killed by a
 * cheap test before the slow ones (the CLI subprocesses) run. The durations
 * are those of the dry run, the one full run of every file: mutant runs run
 * a few tests of each file and do not update them. Outside a mutant run,
 * jest's own order.
 */
const jestPath = require.resolve('jest');
const corePath = require.resolve('@jest/core', { paths: [jestPath] });
const configPath = require.resolve('jest-config', { paths: [corePath] });
const mod = require(require.resolve('@jest/test-sequencer', { paths: [configPath] }));
const Sequencer = mod.default || mod;

const inMutantRun = () => Boolean(process.env.__STRYKER_ACTIVE_MUTANT__);

class QuickestFirstInMutantRuns extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (!inMutantRun()) return sorted;
    const time = (t) => (t.duration == null ? Number.MAX_SAFE_INTEGER : t.duration);
    return [...sorted].sort((a, b) => time(a) - time(b) || (a.path < b.path ? -1 : 1));
  }

  cacheResults(tests, results) {
    if (!inMutantRun()) super.cacheResults(tests, results);
  }
}

module.exports = QuickestFirstInMutantRuns;
