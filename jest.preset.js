// Shared jest settings: tests import sibling packages from their sources, so no build is needed to test.
const path = require('path');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.base.json'), diagnostics: { warnOnly: false } }],
  },
  moduleNameMapper: {
    '^@meprop/layers/node$': path.join(__dirname, 'packages/layers/src/node.ts'),
    '^@meprop/(core|layers|flows|test-utils)$': path.join(__dirname, 'packages/$1/src/index.ts'),
  },
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testTimeout: 120000,
};
