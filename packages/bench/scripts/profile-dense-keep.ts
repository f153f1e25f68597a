// The unified backward's kept dense dW (@meprop/tfjs-node-ops, native/mlp_backward.cc) against a fresh output, on
// `tensorflow`: the op through the binding and through tfjs (attr keep_dw / keepDw), interleaved with plain and the
// bench's unified call; wall and process CPU medians in µs, and minor page faults per call of each variant. A dW
// above 2 MB is never kept: at 128x1024 the keep and fresh rows run the same path.
// Run: flock /work/wt/bench.lock npx tsx packages/bench/scripts/profile-dense-keep.ts [reps]
import * as tf from '@tensorflow/tfjs';
import { mePropMatMulGrads, withNativeScope } from '@meprop/core';
import { setupBackend } from '../src/util/backend';
import { makeRng } from '../src/util/rng';
import { MLP_SHAPES, benchBackward, rand } from './mlp_problem';
import { settle, timeInterleavedWithCpu } from '../src/util/timing';
import { median } from '../src/util/stats';
import { loadNativeOps } from '@meprop/tfjs-node-ops';

function stats(be: unknown): number[] {
  return withNativeScope(be, (s) => Array.from(s.binding.tensorDataSync(s.op('MePropMlpDenseKeepStats', [], [], 1)[0].id)));
}
async function main() {
  await setupBackend('tensorflow');
  loadNativeOps();
  const reps = Number(process.argv[2] ?? 200);
  const be = tf.backend();
  for (const { M, K, N, k } of MLP_SHAPES) {
    const rng = makeRng(1);
    const x = rand([M, K], rng),
      w = rand([K, N], rng),
      dy = rand([M, N], rng);
    const s0 = stats(be);
    const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode: 'unified', seed: 1 });
    await settle([da, db]);
    tf.dispose([da, db]);
    const { da: da2, db: db2 } = mePropMatMulGrads(dy, x, w, { k, mode: 'unified', seed: 1 });
    await settle([da2, db2]);
    tf.dispose([da2, db2]);
    console.log('stats after 2 bench-style calls', s0, stats(be));
    const uni = (keep: boolean) => async () => {
      withNativeScope(be, (s) => {
        s.op(
          'MePropMlpUnifiedBackward',
          [
            s.int('k', k),
            s.bool('transpose_a', false),
            s.bool('transpose_b', false),
            s.bool('dense_w', true),
            s.bool('with_dx', true),
            s.bool('keep_dw', keep),
          ],
          [s.input(dy), s.input(x), s.input(w)],
          3,
        );
        s.release();
      });
    };
    const bench = (keep: boolean) => async () => {
      const out = tf.engine().runKernel('MePropUnifiedBackward', { dy, a: x, b: w }, {
        k,
        transposeA: false,
        transposeB: false,
        denseW: true,
        withDx: true,
        keepDw: keep,
      } as never) as tf.Tensor[];
      await settle([out[1], out[2]]);
      tf.dispose(out);
    };
    const backward = benchBackward(dy, x, w, k);
    const fns: Record<string, () => Promise<void>> = {
      'plain (bench)': backward.plain,
      'unified (bench)': backward.meProp('unified'),
      'runKernel+settle keep': bench(true),
      'runKernel+settle fresh': bench(false),
      'native keep': uni(true),
      'native fresh': uni(false),
    };
    const names = Object.keys(fns);
    const ru0 = process.resourceUsage();
    const samples = await timeInterleavedWithCpu(
      names.map((n) => fns[n]),
      { warmup: 20, reps },
    );
    const ru1 = process.resourceUsage();
    console.log(
      `\n${M}x${K}@${K}x${N} k=${k}  (median µs of ${reps}) minflt/round ${((ru1.minorPageFault - ru0.minorPageFault) / (reps + 20)).toFixed(1)}`,
    );
    names.forEach((n, i) =>
      console.log(
        `  ${n.padEnd(30)} wall ${(median(samples[i].wall) * 1000).toFixed(0).padStart(6)}  cpu ${(median(samples[i].cpu) * 1000).toFixed(0).padStart(6)}`,
      ),
    );
    // page faults per call, each alone
    for (const n of names) {
      const f0 = process.resourceUsage().minorPageFault;
      for (let i = 0; i < 50; i++) await fns[n]();
      console.log(`  minflt/call ${n.padEnd(26)} ${((process.resourceUsage().minorPageFault - f0) / 50).toFixed(1)}`);
    }
    console.log('stats', stats(be));
    tf.dispose([x, w, dy]);
  }
}
main();
