/**
 * Bail for Stryker's mutant runs (jest.mutation.config.js).
 *
 * Stryker's jest runner cannot ask jest to stop at the first failure (jest
 * has no programmatic bail), so a mutant that the first of its 40 covering
 * tests kills still runs the other 39, CLI subprocesses included. Here, once
 * a test has failed while a mutant is active (__STRYKER_ACTIVE_MUTANT__),
 * every later test of that mutant run, in any test file, is skipped. The
 * mutant is killed either way; only the list of tests that would also have
 * killed it is shorter.
 *
 * withBail(Env) extends a jest test environment class. Outside a mutant run
 * (a plain jest run, Stryker's dry run) it changes nothing.
 */
const state = { mutant: undefined };

function withBail(Env) {
  return class BailOnFirstFailure extends Env {
    async handleTestEvent(event, circusState) {
      if (super.handleTestEvent) await super.handleTestEvent(event, circusState);
      const mutant = process.env.__STRYKER_ACTIVE_MUTANT__;
      if (!mutant) return;
      if (event.name === 'test_start' && state.mutant === mutant) {
        event.test.mode = 'skip';
      } else if ((event.name === 'test_done' && event.test.errors.length > 0) || event.name === 'hook_failure') {
        state.mutant = mutant;
      }
    }
  };
}

module.exports = { withBail };
