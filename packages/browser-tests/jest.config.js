// Browser tests: one Chromium per test file, files run one after the other (each drives a whole browser).
// ts-jest uses this package's tsconfig (DOM types: callbacks passed to page.evaluate run in the page).
const path = require('path');
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  rootDir: __dirname,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.json'), diagnostics: { warnOnly: false } }] },
  maxWorkers: 1,
  testTimeout: 600000,
};
