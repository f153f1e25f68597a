// Speed of meProp's backward against plain tfjs, as ratios measured in one run on one backend.
// Usage: npx tsx packages/core/bench/backward.ts [--backend cpu|wasm|tensorflow] [--reps 50]
//        [--shape 32x500x500] [--k 20]
import * as tf from '@tensorflow/tfjs';
import { mePropMatMul, mePropMatMulGrads, MePropMode } from '../src/index';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time of fn (which must force completion), after warm-up. */
function time(fn: () => void, reps: number): number {
  for (let i = 0; i < 5; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function main(): Promise<void> {
  const backend = arg('backend', 'cpu');
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (backend === 'tensorflow') require('@tensorflow/tfjs-node');
  await tf.setBackend(backend);
  await tf.ready();
  const reps = Number(arg('reps', '50'));
  const [M, K, N] = arg('shape', '32x500x500').split('x').map(Number);
  const k = Number(arg('k', '20'));
  const x = tf.randomNormal([M, K], 0, 1, 'float32', 1);
  const w = tf.randomNormal([K, N], 0, 0.05, 'float32', 2);
  const dy = tf.randomNormal([M, N], 0, 1, 'float32', 3);

  const plainBackward = time(() => {
    tf.tidy(() => {
      const dx = tf.matMul(dy, w, false, true);
      const dw = tf.matMul(x, dy, true, false);
      dx.dataSync();
      dw.dataSync();
    });
  }, reps);
  const plainFwdBwd = time(() => {
    tf.tidy(() => {
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), dy)))([x, w]);
      gx.dataSync();
      gw.dataSync();
    });
  }, reps);
  console.log(`backend=${tf.getBackend()} shape=${M}x${K} @ ${K}x${N} k=${k} reps=${reps} (median ms)`);
  console.log(`plain tfjs: backward ${plainBackward.toFixed(3)} ms, forward+backward ${plainFwdBwd.toFixed(3)} ms`);
  for (const mode of ['per-example', 'unified', 'random'] as MePropMode[]) {
    const cfg = { k, mode, seed: 1 };
    const bwd = time(() => {
      tf.tidy(() => {
        const { da, db } = mePropMatMulGrads(dy, x, w, cfg);
        da.dataSync();
        db.dataSync();
      });
    }, reps);
    const fb = time(() => {
      tf.tidy(() => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(mePropMatMul(a, b, cfg), dy)))([x, w]);
        gx.dataSync();
        gw.dataSync();
      });
    }, reps);
    console.log(
      `meProp ${mode.padEnd(11)}: backward ${bwd.toFixed(3)} ms (${(plainBackward / bwd).toFixed(1)}x), ` +
        `forward+backward ${fb.toFixed(3)} ms (${(plainFwdBwd / fb).toFixed(2)}x); ideal backward ${(N / k).toFixed(0)}x`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
