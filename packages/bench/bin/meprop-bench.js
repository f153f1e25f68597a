#!/usr/bin/env node
// Runs the compiled CLI (dist/cli.js). Without a build (a fresh checkout), falls back to the TypeScript
// sources through tsx, resolving the sibling @meprop/* packages from their sources too.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist', 'cli.js');

function load() {
  if (fs.existsSync(dist)) return require(dist);
  let register;
  try {
    register = require.resolve('tsx/cjs');
  } catch {
    process.stderr.write(
      'meprop-bench: dist/cli.js is missing (run `npm run build`) and tsx is not installed to run the sources\n',
    );
    process.exit(2);
  }
  // tsconfig.json maps @meprop/* to the workspace sources, so no package needs to be built first.
  process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.json');
  require(register);
  return require(path.join(root, 'src', 'cli.ts'));
}

load()
  .main(process.argv)
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`meprop-bench: ${(e && e.stack) || e}\n`);
      process.exitCode = 2;
    },
  );
