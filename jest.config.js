/** One jest run for every package; sources are used directly, not dist/. */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/jest-environment.js',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  moduleNameMapper: {
    '^@onnx-explain/(core|node)$': '<rootDir>/packages/$1/src',
  },
  // Stryker's sandbox copies the packages under .stryker-tmp/ while `pnpm mutation` runs
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
