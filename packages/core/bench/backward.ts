// Speed of meProp's backward against plain tfjs, as ratios measured in one run on one backend.
// Usage: npx tsx packages/core/bench/backward.ts [--backend cpu|wasm|tensorflow] [--reps 50]
//        [--shape 32x500x500] [--k 20]
import * as tf from '@tensorflow/tfjs';
import { beginSparseGradients, mePropMatMul, mePropMatMulGrads, MePropMode, SparseGradientZeros } from '../src/index';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median wall time of each candidate (each must force completion), after warm-up. The candidates run
 * interleaved, one repetition of each per round, so background load hits them alike and the ratios hold.
 */
function timeInterleaved(fns: Array<() => void>, reps: number): number[] {
  for (let i = 0; i < 5; i++) fns.forEach((f) => f());
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
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  // A name in a variable: tfjs-node is optional and has no types to resolve when it is not installed.
  const tfjsNode: string = '@tensorflow/tfjs-node';
  if (backend === 'tensorflow') await import(tfjsNode);
  await tf.setBackend(backend);
  await tf.ready();
  const reps = Number(arg('reps', '50'));
  const [M, K, N] = arg('shape', '32x500x500').split('x').map(Number);
  const k = Number(arg('k', '20'));
  const x = tf.randomNormal([M, K], 0, 1, 'float32', 1);
  const w = tf.randomNormal([K, N], 0, 0.05, 'float32', 2);
  const dy = tf.randomNormal([M, N], 0, 1, 'float32', 3);

  const modes: MePropMode[] = ['per-example', 'unified', 'random'];
  const backward = (mode: MePropMode | null) => () =>
    tf.tidy(() => {
      if (mode === null) {
        tf.matMul(dy, w, false, true).dataSync();
        tf.matMul(x, dy, true, false).dataSync();
      } else {
        const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode, seed: 1 });
        da.dataSync();
        db.dataSync();
      }
    });
  const configs = new Map(modes.map((m) => [m, { k, mode: m, seed: 1 }]));
  const forwardBackward = (mode: MePropMode | null) => () =>
    tf.tidy(() => {
      const mm = (a: tf.Tensor, b: tf.Tensor) => (mode === null ? tf.matMul(a, b) : mePropMatMul(a, b, configs.get(mode)!));
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(mm(a, b), dy)))([x, w]);
      gx.dataSync();
      gw.dataSync();
    });
  // Forward + backward as a training step with a lazy optimizer sees it: unified, the weight's gradient kept as
  // its k slices (a sparse-gradient session, as sparseAdam opens in minimize), no dense dW built.
  const wv = tf.variable(w, true, 'bench_w');
  const zeros = new SparseGradientZeros(); // kept across steps, as the lazy optimizers keep theirs
  const sparseDw = () => {
    const session = beginSparseGradients([wv], zeros);
    try {
      tf.tidy(() => {
        const loss = () => tf.sum(tf.mul(mePropMatMul(x, wv, configs.get('unified')!), dy)) as tf.Scalar;
        const { grads } = tf.variableGrads(session.wrap(loss), [wv]);
        const g = session.resolve(wv, grads[wv.name]);
        if (g.kind !== 'sparse') throw new Error('expected sparse slices');
        g.slices.rows.dataSync();
      });
    } finally {
      session.end();
    }
  };
  const plainVarFwdBwd = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.matMul(x, wv), dy)) as tf.Scalar, [wv]);
      grads[wv.name].dataSync();
    });
  const [plainVar, sparseVar] = timeInterleaved([plainVarFwdBwd, sparseDw], reps);
  const [plainBackward, ...bwd] = timeInterleaved([backward(null), ...modes.map(backward)], reps);
  const [plainFwdBwd, ...fb] = timeInterleaved([forwardBackward(null), ...modes.map(forwardBackward)], reps);
  console.log(`backend=${tf.getBackend()} shape=${M}x${K} @ ${K}x${N} k=${k} reps=${reps} (median ms, interleaved)`);
  console.log(`plain tfjs: backward ${plainBackward.toFixed(3)} ms, forward+backward ${plainFwdBwd.toFixed(3)} ms`);
  console.log(
    `forward+backward of dW only (tf.variableGrads): plain ${plainVar.toFixed(3)} ms, meProp unified with dW kept as k slices ` +
      `${sparseVar.toFixed(3)} ms (${(plainVar / sparseVar).toFixed(2)}x)`,
  );
  modes.forEach((mode, i) => {
    console.log(
      `meProp ${mode.padEnd(11)}: backward ${bwd[i].toFixed(3)} ms (${(plainBackward / bwd[i]).toFixed(1)}x), ` +
        `forward+backward ${fb[i].toFixed(3)} ms (${(plainFwdBwd / fb[i]).toFixed(2)}x); ideal backward ${(N / k).toFixed(0)}x`,
    );
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
