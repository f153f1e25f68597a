// Speed of meProp's conv backward against plain tfjs, as ratios measured in one run on one backend.
// Usage: npx tsx packages/core/bench/conv_backward.ts [--backend cpu|wasm|tensorflow] [--reps 20]
//        [--shape 32x28x28x32x64] (batch x height x width x in-channels x out-channels) [--filter 3] [--k 8]
import * as tf from '@tensorflow/tfjs';
import { exactConv2dGrads, mePropConv2dGradThunks, MePropMode, validateMePropConfig } from '../src/index';
import { makeRuntime } from '../src/sparse_backward';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time of each candidate, interleaved one repetition of each per round, after warm-up. */
function timeInterleaved(fns: Array<() => void>, reps: number): number[] {
  for (let i = 0; i < 2; i++) fns.forEach((f) => f());
  const ts: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++) {
    fns.forEach((f, j) => {
      const t0 = performance.now();
      f();
      ts[j].push(performance.now() - t0);
    });
  }
  return ts.map(median);
}

async function main(): Promise<void> {
  const backend = arg('backend', 'cpu');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (backend === 'tensorflow') require('@tensorflow/tfjs-node');
  await tf.setBackend(backend);
  await tf.ready();
  const reps = Number(arg('reps', '20'));
  const [B, H, W, CI, CO] = arg('shape', '32x28x28x32x64').split('x').map(Number);
  const F = Number(arg('filter', '3'));
  const k = Number(arg('k', '8'));
  const attrs = { strides: 1, pad: 'valid' as const };
  const x = tf.randomNormal([B, H, W, CI], 0, 1, 'float32', 1);
  const w = tf.randomNormal([F, F, CI, CO], 0, 0.05, 'float32', 2);
  const dy = tf.randomNormal([B, H - F + 1, W - F + 1, CO], 0, 1, 'float32', 3);
  const modes: MePropMode[] = ['unified', 'per-example', 'random'];
  const run = (g: { x: () => tf.Tensor; filter: () => tf.Tensor }): void => {
    g.x().dataSync();
    g.filter().dataSync();
  };
  const candidates: Array<[string, () => void]> = [
    ['plain tfjs', () => tf.tidy(() => run(exactConv2dGrads(dy, x, w, attrs)))],
    ...modes.map((mode): [string, () => void] => {
      const runtime = makeRuntime(validateMePropConfig({ k, mode, seed: 1 }));
      return [`meProp ${mode}`, () => tf.tidy(() => run(mePropConv2dGradThunks(dy, x, w, attrs, runtime)))];
    }),
  ];
  if (backend === 'wasm') {
    // A dense baseline on wasm's fast route: dx as an XNNPACK forward conv of dy with the flipped filter
    // (what meProp's k-channel dx uses there), dW through the same kernel as plain.
    candidates.push([
      'dense, dx by forward conv',
      () =>
        tf.tidy(() => {
          const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
          tf.conv2d(dy as tf.Tensor4D, flipped, 1, [
            [0, 0],
            [F - 1, F - 1],
            [F - 1, F - 1],
            [0, 0],
          ]).dataSync();
          exactConv2dGrads(dy, x, w, attrs).filter().dataSync();
        }),
    ]);
  }
  const times = timeInterleaved(
    candidates.map((c) => c[1]),
    reps,
  );
  console.log(
    `backend=${tf.getBackend()} x=[${x.shape}] filter=[${w.shape}] k=${k} reps=${reps} (median ms of dx+dW, interleaved)`,
  );
  candidates.forEach(([name], i) => {
    console.log(`${name.padEnd(26)} ${times[i].toFixed(2).padStart(9)} ms  ${(times[0] / times[i]).toFixed(2)}x vs plain tfjs`);
  });
  console.log(`ideal (CO/k): ${(CO / k).toFixed(1)}x`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
