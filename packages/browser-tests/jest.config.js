// Browser tests: one Chromium per test file, files run one after the other (each drives a whole browser).
module.exports = { ...require('../../jest.preset.js'), rootDir: __dirname, maxWorkers: 1, testTimeout: 600000 };
