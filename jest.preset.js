// Shared jest settings: tests import sibling packages from their sources, so no build is needed to test.
const path = require('path');

// MEPROP_TFJS_DIR=<node_modules dir>: run the tests against another tfjs 4.x installed there (the tfjs range
// job, tools/test-tfjs-range.sh); every @tensorflow/* package then loads from that one copy.
const tfjsDir = process.env.MEPROP_TFJS_DIR;
const tfjsMapper = tfjsDir
  ? {
      '^@tensorflow/(tfjs|tfjs-core|tfjs-layers|tfjs-converter|tfjs-data|tfjs-backend-cpu|tfjs-backend-wasm|tfjs-backend-webgl)$':
        path.join(path.resolve(tfjsDir), '@tensorflow/$1'),
    }
  : {};

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.base.json'), diagnostics: { warnOnly: false } }],
  },
  moduleNameMapper: {
    ...tfjsMapper,
    '^@meprop/layers/node$': path.join(__dirname, 'packages/layers/src/node.ts'),
    '^@meprop/(core|layers|flows|test-utils|tfjs-node-ops)$': path.join(__dirname, 'packages/$1/src/index.ts'),
  },
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testTimeout: 120000,
};
