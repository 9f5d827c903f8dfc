/**
 * Prints one closing line in the plain 'N passed, N failed, N skipped' form
 * that CI and other tools read. jest writes its own summary after the
 * reporters run, so the line is written when the process exits.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    const line = `tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`;
    process.on('exit', () => process.stderr.write(line));
  }
}
module.exports = SummaryReporter;
