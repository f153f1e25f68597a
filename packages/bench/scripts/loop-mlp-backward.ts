// A loop of one meProp backward as `meprop-bench kernels` times it, for a profiler (perf record -p).
// Run: npx tsx packages/bench/scripts/loop-mlp-backward.ts <unified|per-example|slices|plain> <M> <K> <N> <k> <seconds>
import * as tf from '@tensorflow/tfjs';
import { exactMatMulGrads, mePropMatMulGrads, mePropMatMulSliceGrads } from '@meprop/core';
import { setupBackend } from '../src/util/backend';
import { makeRng } from '../src/util/rng';
import { rand } from './mlp_problem';
import { settle } from '../src/util/timing';

async function main(): Promise<void> {
  await setupBackend('tensorflow');
  const [mode, Ms, Ks, Ns, ks, secs] = process.argv.slice(2);
  const [M, K, N, k] = [Ms, Ks, Ns, ks].map(Number);
  const rng = makeRng(1);
  const x = rand([M, K], rng);
  const w = rand([K, N], rng);
  const dy = rand([M, N], rng);
  const end = Date.now() + Number(secs) * 1000;
  let n = 0;
  const t0 = performance.now();
  while (Date.now() < end) {
    let out: tf.Tensor[];
    if (mode === 'plain') {
      out = tf.tidy(() => {
        const t = exactMatMulGrads(dy, x, w, false, false);
        return [t.a(), t.b()];
      });
    } else if (mode === 'slices') {
      const { da, db } = mePropMatMulSliceGrads(dy, x, w, { k, mode: 'unified', seed: 1 });
      out = [da, db.indices, db.rows];
    } else {
      const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode: mode as 'unified', seed: 1 });
      out = [da, db];
    }
    await settle(out);
    tf.dispose(out);
    n++;
  }
  console.log(`${mode} ${M}x${K}x${N} k=${k}: ${n} calls, ${(((performance.now() - t0) / n) * 1000).toFixed(0)} µs each`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
