/**
 * Round trips over third-party models in ../shared/wild (or $WILD_DIR).
 * Not part of `pnpm test`: CI must not depend on files outside the repo.
 *   npx --yes pnpm@10 wild
 */
const base = require('./jest.config.js');
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/wild/**/*.wild.ts'],
  testTimeout: 600000,
};
