// Shared by the thread-bits checks: the child scripts (mlp_thread_bits.ts, conv_thread_bits.ts) print the bits of
// native ops' outputs as JSON; the parent tests run each script once per MEPROP_NATIVE_THREADS setting (the pool
// reads it once per process) and compare.
// The umbrella, not tfjs-node, for the types: tfjs-node is optional (provisioned by tools/provision-tfjs-node.sh)
// and loadNativeOps() loads it, registering the `tensorflow` backend on the shared engine.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@meprop/core';
import { loadNativeOps } from '../index';

/** Uniform values in [-1, 1) from a seeded generator. */
export function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1),
    shape,
  );
}

/** The tensor's float32 bits, base64. */
export function bits(t: tf.Tensor): string {
  const v = t.dataSync();
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** In a child script: loads the native ops and checks that the tensorflow backend is the current one. */
export function startChild(): void {
  const status = loadNativeOps();
  if (!status.loaded) throw new Error(`native ops not loaded: ${status.reason}`);
  if (tf.getBackend() !== 'tensorflow') throw new Error(`expected the tensorflow backend, got ${tf.getBackend()}`);
}

/** In a parent test: runs test-helpers/<script> under tsx with MEPROP_NATIVE_THREADS = threads; its JSON output. */
export function runThreadBitsChild(script: string, threads: string): Record<string, string> {
  const pkg = path.join(__dirname, '..', '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, script)], {
    cwd: pkg,
    env: { ...process.env, MEPROP_NATIVE_THREADS: threads, TSX_TSCONFIG_PATH: path.join(pkg, 'tsconfig.json') },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`${script}, MEPROP_NATIVE_THREADS=${threads}: child exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}
