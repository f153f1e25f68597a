// Does meProp's backward right after plain's run slower than alone (issue 11, lead 4: plain's threads spinning, or
// caches)? Unified as the bench times it: alone, right after plain (interleaved), and after plain plus a 5 ms sleep;
// plain alone and after unified. Wall and process CPU medians in µs.
// Run: flock /work/wt/bench.lock npx tsx packages/bench/scripts/profile-after-plain.ts [reps]
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../src/util/backend';
import { makeRng } from '../src/util/rng';
import { MLP_SHAPES, benchBackward, rand } from './mlp_problem';
import { timeInterleavedWithCpu } from '../src/util/timing';
import { median } from '../src/util/stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function main() {
  await setupBackend('tensorflow');
  const reps = Number(process.argv[2] ?? 200);
  for (const { M, K, N, k } of MLP_SHAPES) {
    const rng = makeRng(1);
    const x = rand([M, K], rng),
      w = rand([K, N], rng),
      dy = rand([M, N], rng);
    const { plain, meProp } = benchBackward(dy, x, w, k);
    const uni = meProp('unified');
    const rows: [string, number, number][] = [];
    const run = async (label: string, fns: (() => Promise<void>)[], idx: number) => {
      const s = await timeInterleavedWithCpu(fns, { warmup: 20, reps });
      rows.push([label, median(s[idx].wall) * 1000, median(s[idx].cpu) * 1000]);
    };
    await run('unified alone', [uni], 0);
    await run('unified after plain (interleaved)', [plain, uni], 1);
    await run('plain alone', [plain], 0);
    await run('plain after unified (interleaved)', [uni, plain], 1);
    await run(
      'unified after plain + 5 ms sleep',
      [
        async () => {
          await plain();
          await sleep(5);
        },
        uni,
      ],
      1,
    );
    await run('unified alone', [uni], 0);
    console.log(`\n${M}x${K}@${K}x${N} k=${k} (median µs of ${reps})`);
    for (const [l, wv, c] of rows)
      console.log(`  ${l.padEnd(36)} wall ${wv.toFixed(0).padStart(6)}  cpu ${c.toFixed(0).padStart(6)}`);
    tf.dispose([x, w, dy]);
  }
}
main();
