// Tests are TypeScript compiled by `tsc` into dist/ (one compiler, no transform step).
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist'],
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['**/*.test.js'],
  testTimeout: 60000,
};
