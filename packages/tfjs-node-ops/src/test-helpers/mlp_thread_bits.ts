// Run as a child process by mlp_kernels.test.ts (under tsx, with MEPROP_NATIVE_THREADS set by the parent):
// prints, as JSON, the bits (base64) of the native MLP backward's outputs at shapes big enough for the threaded
// paths (the unified op's split along K and its dense fill, the per-example selection and products, the
// products from kept entries), so that the parent can compare runs on one, two and three threads.
// Helpers (seeded inputs, bits, loading the native ops) in thread_bits.ts.
import * as tf from '@tensorflow/tfjs';
import { bits, rand, startChild } from './thread_bits';

startChild();
const out: Record<string, string> = {};
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor[] => {
  const o = tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor | tf.Tensor[];
  return Array.isArray(o) ? o : [o];
};
tf.tidy(() => {
  // A Dense layer's layout (split along K) and a transposed one (two parts, with nested row splits).
  for (const [M, K, N, k, tA, tB] of [
    [128, 1024, 1024, 32, false, false],
    [160, 1000, 700, 24, true, false],
  ] as Array<[number, number, number, number, boolean, boolean]>) {
    const dy = rand([M, N], 1);
    const a = rand(tA ? [K, M] : [M, K], 2);
    const b = rand(tB ? [N, K] : [K, N], 3);
    const tag = `${M}x${K}x${N}${tA ? 'tA' : ''}`;
    for (const denseW of [true, false]) {
      const o = run('MePropUnifiedBackward', { dy, a, b }, { k, transposeA: tA, transposeB: tB, denseW, withDx: true });
      o.forEach((t, i) => (out[`${tag}.unified.${denseW ? 'dense' : 'slices'}.${i}`] = bits(t)));
    }
    const p = run('MePropPerExampleBackward', { dy, a, b }, { k, transposeA: tA, transposeB: tB, withDx: true });
    p.forEach((t, i) => (out[`${tag}.perExample.${i}`] = bits(t)));
    const [indices, , values] = run(
      'MePropPerExampleBackward',
      { dy, a, b },
      { k, transposeA: tA, transposeB: tB, withDx: false },
    );
    const gradAttrs = { transposeA: tA, transposeB: tB, M, K, N, shared: false };
    out[`${tag}.sparseGradA`] = bits(run('MePropSparseGradA', { indices, values, b }, gradAttrs)[0]);
    out[`${tag}.sparseGradB`] = bits(run('MePropSparseGradB', { indices, values, a }, gradAttrs)[0]);
  }
  // A kept dense dW (2 MB, the largest kept; split along K): the second call rewrites the first one's buffer.
  const [M, K, N, k] = [256, 512, 1000, 20];
  const a = rand([M, K], 4);
  const b = rand([K, N], 5);
  const attrs = { k, transposeA: false, transposeB: false, denseW: true, withDx: true };
  tf.dispose(run('MePropUnifiedBackward', { dy: rand([M, N], 6), a, b }, attrs));
  run('MePropUnifiedBackward', { dy: rand([M, N], 7), a, b }, attrs).forEach((t, i) => (out[`kept.${i}`] = bits(t)));
});
process.stdout.write(JSON.stringify(out));
