// Where the time of meProp's backward on `tensorflow` goes (issue 11): the whole call as `meprop-bench kernels`
// times it, the same kernel through tfjs's engine only, the native op alone through the binding, and the fixed
// costs (a trivial native op, a trivial tfjs op, the bench's settle). Interleaved, medians in µs.
// Run: npx tsx packages/bench/scripts/profile-mlp-backward.ts [reps]   (under flock /work/wt/bench.lock)
import * as tf from '@tensorflow/tfjs';
import { mePropMatMulGrads, mePropMatMulSliceGrads, withNativeScope } from '@meprop/core';
import { setupBackend } from '../src/util/backend';
import { makeRng } from '../src/util/rng';
import { benchBackward, rand } from './mlp_problem';
import { settle, timeInterleaved } from '../src/util/timing';
import { median } from '../src/util/stats';

async function main(): Promise<void> {
  await setupBackend('tensorflow');
  const reps = Number(process.argv[2] ?? 200);
  const shapes = [
    { M: 2, K: 16, N: 16, k: 1 },
    { M: 32, K: 500, N: 500, k: 20 },
    { M: 128, K: 1024, N: 1024, k: 32 },
  ];
  const be = tf.backend();
  for (const { M, K, N, k } of shapes) {
    const rng = makeRng(1);
    const x = rand([M, K], rng);
    const w = rand([K, N], rng);
    const dy = rand([M, N], rng);
    const tiny = tf.tensor1d([1]);
    const native = (op: string, attrs: (s: Parameters<Parameters<typeof withNativeScope>[1]>[0]) => unknown[]) => async () => {
      withNativeScope(be, (s) => {
        s.op(op, attrs(s) as never, [s.input(dy), s.input(x), s.input(w)], 3);
        s.release();
      });
    };
    const uni = (dense: boolean, withDx: boolean, threads: number) =>
      native('MePropMlpUnifiedBackward', (s) => [
        s.int('k', k),
        s.bool('transpose_a', false),
        s.bool('transpose_b', false),
        s.bool('dense_w', dense),
        s.bool('with_dx', withDx),
        s.int('threads', threads),
      ]);
    const pe = (withDx: boolean) =>
      native('MePropMlpPerExampleBackward', (s) => [
        s.int('k', k),
        s.bool('transpose_a', false),
        s.bool('transpose_b', false),
        s.bool('with_dx', withDx),
      ]);
    const bench = benchBackward(dy, x, w, k);
    const fns: Record<string, () => Promise<void>> = {
      'plain (bench)': bench.plain,
      'plain native MatMul x2 (no tfjs)': async () => {
        withNativeScope(be, (s) => {
          s.matMul(s.input(dy), s.input(w), false, true);
          s.matMul(s.input(x), s.input(dy), true, false);
          s.release();
        });
      },
      'unified (bench)': bench.meProp('unified'),
      'unified slices (bench)': async () => {
        const { da, db } = mePropMatMulSliceGrads(dy, x, w, { k, mode: 'unified', seed: 1 });
        await settle([da, db.indices, db.rows]);
        tf.dispose([da, db.indices, db.rows]);
      },
      'per-example (bench)': async () => {
        const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode: 'per-example', seed: 1 });
        await settle([da, db]);
        tf.dispose([da, db]);
      },
      'unified (bench) without settle': async () => {
        const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode: 'unified', seed: 1 });
        tf.dispose([da, db]);
      },
      'unified runKernel + settle': async () => {
        const out = tf.engine().runKernel('MePropUnifiedBackward', { dy, a: x, b: w }, {
          k,
          transposeA: false,
          transposeB: false,
          denseW: true,
          withDx: true,
        } as never) as tf.Tensor[];
        await settle([out[1], out[2]]);
        tf.dispose(out);
      },
      'unified runKernel only': async () => {
        const out = tf.engine().runKernel('MePropUnifiedBackward', { dy, a: x, b: w }, {
          k,
          transposeA: false,
          transposeB: false,
          denseW: true,
          withDx: true,
        } as never) as tf.Tensor[];
        tf.dispose(out);
      },
      'native unified dense dW+dx (auto threads)': uni(true, true, 0),
      'native unified dense dW+dx (1 thread)': uni(true, true, 1),
      'native unified dense dW+dx (2 threads)': uni(true, true, 2),
      'native unified slices+dx (auto)': uni(false, true, 0),
      'native unified slices+dx (2 threads)': uni(false, true, 2),
      'native unified dense dW only (1 thread)': uni(true, false, 1),
      'native unified slices only (1 thread)': uni(false, false, 1),
      'native per-example dW+dx': pe(true),
      'native per-example dW only': pe(false),
      'native trivial Neg [1]': async () => {
        withNativeScope(be, (s) => {
          s.op1('Neg', [s.type('T', 'float32')], [s.input(tiny)]);
          s.release();
        });
      },
      'tfjs trivial neg [1]': async () => {
        tf.neg(tiny).dispose();
      },
      'settle of 2 tensors': async () => {
        await settle([x, w]);
      },
      'tfjs zeros like dW': async () => {
        tf.zeros([K, N]).dispose();
      },
    };
    const names = Object.keys(fns);
    const samples = await timeInterleaved(
      names.map((n) => fns[n]),
      { warmup: 20, reps },
    );
    console.log(`\n${M}x${K}@${K}x${N} k=${k}  (median µs of ${reps})`);
    names.forEach((n, i) => console.log(`  ${n.padEnd(44)} ${(median(samples[i]) * 1000).toFixed(0).padStart(6)}`));
    tf.dispose([x, w, dy, tiny]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
