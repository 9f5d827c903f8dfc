/** The repo's test environment, with bail for Stryker's mutant runs (see bail.js). */
const { withBail } = require('./bail');

module.exports = withBail(require('../../test/helpers/jest-environment.js'));
