#!/usr/bin/env node
// Builds build/meprop_tf_ops.node: meProp's TensorFlow ops for the `tensorflow` backend (tfjs-node), compiled
// from native/*.cc and linked against the libtensorflow that @tensorflow/tfjs-node ships (deps/lib), so that
// the ops land in the same library instance tfjs-node runs.
//
// Needs: a C++17 compiler (`c++`, or $CXX), Node's headers (node_api.h; found next to the node binary, in
// /usr/include/node, or $npm_config_nodedir/include/node) and @tensorflow/tfjs-node installed where this
// package resolves it. No network.
//
//   node scripts/build-native.mjs              build; exit 1 with the reason on failure
//   node scripts/build-native.mjs --if-possible exit 0 with a note when tfjs-node or a compiler is missing
//                                               (what the package's install script runs)
// Env: CXX (compiler), MEPROP_NATIVE_CFLAGS (default "-O3 -march=native": the ops are built on the machine
//      that runs them), MEPROP_TFJS_NODE_DIR (tfjs-node's folder, if it does not resolve from here).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const ifPossible = process.argv.includes('--if-possible');

function giveUp(reason) {
  if (ifPossible) {
    console.log(
      `@meprop/tfjs-node-ops: native ops not built (${reason}); meProp uses TensorFlow's stock ops on the tensorflow backend. Build later with: npx meprop-build-native`,
    );
    process.exit(0);
  }
  console.error(`@meprop/tfjs-node-ops: build failed: ${reason}`);
  process.exit(1);
}

function tfjsNodeDir() {
  if (process.env.MEPROP_TFJS_NODE_DIR) return process.env.MEPROP_TFJS_NODE_DIR;
  for (const from of [join(pkg, 'package.json'), join(process.cwd(), 'package.json')]) {
    try {
      return dirname(createRequire(from).resolve('@tensorflow/tfjs-node/package.json'));
    } catch {
      // try the next base
    }
  }
  return null;
}

function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

const tfjsNode = tfjsNodeDir();
if (tfjsNode === null) giveUp('@tensorflow/tfjs-node is not installed');
const libDir = join(tfjsNode, 'deps', 'lib');
if (!existsSync(join(libDir, 'libtensorflow.so')) && !existsSync(join(libDir, 'libtensorflow.so.2'))) {
  giveUp(`no libtensorflow in ${libDir} (is @tensorflow/tfjs-node fully installed?)`);
}
if (process.platform !== 'linux') giveUp(`platform ${process.platform} is not supported yet (linux only)`);
const headers = nodeHeaders();
if (headers === null) giveUp("Node's headers (node_api.h) not found; set npm_config_nodedir");

const cxx = process.env.CXX || 'c++';
const flags = (process.env.MEPROP_NATIVE_CFLAGS ?? '-O3 -march=native').split(/\s+/).filter(Boolean);
const sources = readdirSync(join(pkg, 'native'))
  .filter((f) => f.endsWith('.cc'))
  .sort()
  .map((f) => join(pkg, 'native', f));
const outDir = join(pkg, 'build');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'meprop_tf_ops.node');
const tmp = `${out}.tmp-${process.pid}`;
const args = [
  ...flags,
  '-std=c++17',
  '-fopenmp-simd',
  '-shared',
  '-fPIC',
  '-pthread',
  '-fvisibility=hidden',
  `-I${headers}`,
  ...sources,
  `-L${libDir}`,
  '-l:libtensorflow.so.2',
  `-Wl,-rpath,${libDir}`,
  '-o',
  tmp,
];
const t0 = Date.now();
const r = spawnSync(cxx, args, { stdio: 'inherit' });
if (r.error) giveUp(`could not run the compiler '${cxx}': ${r.error.message}`);
if (r.status !== 0) giveUp(`${cxx} exited with ${r.status}`);
renameSync(tmp, out);
console.log(`@meprop/tfjs-node-ops: built ${out} (${sources.length} sources, ${Date.now() - t0} ms)`);
