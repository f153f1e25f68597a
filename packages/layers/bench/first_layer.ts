// A model's first layer: only the weight gradient is needed (the input is data). Forward + weight gradient of
// x [M, K] @ W [K, N] (default 128×10000 @ 10000×16, the shape of a multi-hot text classifier's first
// layer), unified meProp k=3, four ways: tf.matMul (plain tfjs), tf.matMul inside withMeProp, mePropMatMul,
// and a mePropDense layer. Each pass is one kernel list; medians of interleaved rounds.
// Run: npx tsx packages/layers/bench/first_layer.ts [--backend cpu|wasm|tensorflow] [--reps 30]
//      [--m 128] [--kin 10000] [--n 16] [--k 3] [--mode unified]
import * as tf from '@tensorflow/tfjs';
import { mePropMatMul, MePropMode, withMeProp } from '@meprop/core';
import { mePropDense } from '../src/index';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function useBackend(name: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (name === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (name === 'tensorflow') require('@tensorflow/tfjs-node');
  if (!(await tf.setBackend(name))) throw new Error(`--backend: cannot activate '${name}'`);
  await tf.ready();
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const reps = Number(arg('reps', '30'));
  const [M, K, N] = [Number(arg('m', '128')), Number(arg('kin', '10000')), Number(arg('n', '16'))];
  const k = Number(arg('k', '3'));
  const mode = arg('mode', 'unified') as MePropMode;
  await useBackend(backend);

  // A multi-hot input (about 1% ones), as a text classifier sees.
  const x = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([M, K], 0, 1, 'float32', 1), 0.01), 'float32'));
  const dy = tf.randomNormal([M, N], 0, 1, 'float32', 2);
  const w = tf.variable(tf.randomNormal([K, N], 0, 0.05, 'float32', 3));
  const config = { k, mode };
  const dense = mePropDense({ units: N, k, mode, useBias: false, inputShape: [K] });
  dense.build([null, K]);
  dense.setWeights([w]);
  const denseKernel = dense.trainableWeights[0].read() as tf.Variable;

  /** Forward + gradient with respect to the weight only; the result is read back (one sync). */
  const weightGrad = (f: (v: tf.Tensor) => tf.Tensor, v: tf.Variable) => (): void => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(v), dy)) as tf.Scalar, [v]);
    grads[v.name].dataSync();
    tf.dispose([value, grads[v.name]]);
  };
  const variants: Array<{ name: string; run: () => void; times: number[]; cpu: number[] }> = [
    { name: 'tf.matMul', run: weightGrad((v) => tf.matMul(x, v), w), times: [], cpu: [] },
    {
      name: 'withMeProp + tf.matMul',
      run: () =>
        withMeProp(
          config,
          weightGrad((v) => tf.matMul(x, v), w),
        ),
      times: [],
      cpu: [],
    },
    { name: 'mePropMatMul', run: weightGrad((v) => mePropMatMul(x, v, config), w), times: [], cpu: [] },
    { name: 'mePropDense', run: weightGrad(() => dense.apply(x) as tf.Tensor, denseKernel), times: [], cpu: [] },
  ];
  for (const v of variants) for (let i = 0; i < 3; i++) v.run(); // warm-up
  const rounds = 3;
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      for (let i = 0; i < Math.ceil(reps / rounds); i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        v.run();
        v.times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        v.cpu.push((c.user + c.system) / 1000);
      }
    }
  }
  const base = median(variants[0].times);
  const baseCpu = median(variants[0].cpu);
  console.log(
    `backend=${backend} x ${M}x${K} @ W ${K}x${N}, ${mode} k=${k}, forward + weight gradient only, median of ${variants[0].times.length} (${rounds} interleaved rounds)`,
  );
  for (const v of variants) {
    const ms = median(v.times);
    const cpu = median(v.cpu);
    console.log(
      `${v.name.padEnd(26)} wall ${ms.toFixed(2).padStart(8)} ms ${(base / ms).toFixed(2).padStart(6)}x   cpu ${cpu.toFixed(2).padStart(8)} ms ${(baseCpu / cpu).toFixed(2).padStart(6)}x`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
