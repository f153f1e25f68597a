// A converted model (mePropify) against the same model under withMeProp and plain tfjs: one training step
// (model.trainOnBatch, tf.train.adam for all three, so only the backward differs), unified meProp. Models as
// tfjs-examples has them: a multi-hot sentiment MLP (10000-16-16-1), the MNIST dense model (784-128-10,
// batch 320), an LSTM and a GRU sequence classifier. Medians of interleaved rounds; ratios against plain.
// Both wall-clock and process CPU time are printed: on a loaded machine the CPU time is the steadier figure.
// Run: npx tsx bench/converted_vs_scope.ts [--backend cpu|wasm|tensorflow] [--steps 12] [--models sentiment,mnist,lstm,gru]
import * as tf from '@tensorflow/tfjs';
import { withMeProp } from '@meprop/core';
import { mePropify } from '../src/index';

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

interface Case {
  name: string;
  k: number;
  build(): tf.LayersModel;
  data(): { x: tf.Tensor; y: tf.Tensor; loss: string };
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

const CASES: Case[] = [
  {
    name: 'sentiment MLP 10000-16-16-1, batch 128',
    k: 3,
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [10000], units: 16, activation: 'relu', kernelInitializer: init(1) }),
          tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2) }),
          tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(3) }),
        ],
      }),
    data: () => ({
      x: tf.tidy(() => tf.cast(tf.less(tf.randomUniform([128, 10000], 0, 1, 'float32', 4), 0.01), 'float32')),
      y: tf.tidy(() => tf.cast(tf.less(tf.randomUniform([128, 1], 0, 1, 'float32', 5), 0.5), 'float32')),
      loss: 'binaryCrossentropy',
    }),
  },
  {
    name: 'MNIST dense 784-128-10, batch 320',
    k: 13,
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28, 1] }),
          tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(6) }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(7) }),
        ],
      }),
    data: () => ({
      x: tf.randomUniform([320, 28, 28, 1], 0, 1, 'float32', 8),
      y: tf.tidy(() => tf.oneHot(tf.randomUniform([320], 0, 10, 'int32', 9), 10)),
      loss: 'categoricalCrossentropy',
    }),
  },
  ...(['lstm', 'gru'] as const).map((kind): Case => ({
    name: `${kind.toUpperCase()} 128 units over 20 steps of 32 features, batch 32`,
    k: 32,
    build: () =>
      tf.sequential({
        layers: [
          (kind === 'lstm' ? tf.layers.lstm : tf.layers.gru)({
            inputShape: [20, 32],
            units: 128,
            kernelInitializer: init(10),
            recurrentInitializer: 'glorotUniform',
          }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(11) }),
        ],
      }),
    data: () => ({
      x: tf.randomNormal([32, 20, 32], 0, 1, 'float32', 12),
      y: tf.tidy(() => tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', 13), 10)),
      loss: 'categoricalCrossentropy',
    }),
  })),
];
const KEYS = ['sentiment', 'mnist', 'lstm', 'gru'];

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const steps = Number(arg('steps', '12'));
  const wanted = arg('models', KEYS.join(',')).split(',');
  await useBackend(backend);
  console.log(
    `backend=${backend}, one training step (trainOnBatch, tf.train.adam), unified meProp, median of ${steps} steps in 3 interleaved rounds`,
  );
  console.log(
    `${'model [wall clock | process cpu time]'.padEnd(60)} ${'plain'.padStart(9)} ${'withMeProp'.padStart(17)} ${'mePropify'.padStart(17)}  converted / scope`,
  );
  for (const [i, c] of CASES.entries()) {
    if (!wanted.includes(KEYS[i])) continue;
    const { x, y, loss } = c.data();
    const config = { k: c.k, mode: 'unified' as const };
    const plain = c.build();
    const scoped = c.build();
    const converted = mePropify(c.build(), config).model;
    for (const m of [plain, scoped, converted]) m.compile({ optimizer: tf.train.adam(1e-3), loss });
    const variants = [
      { run: () => plain.trainOnBatch(x, y), times: [] as number[], cpu: [] as number[] },
      { run: () => withMeProp(config, () => scoped.trainOnBatch(x, y)), times: [] as number[], cpu: [] as number[] },
      { run: () => converted.trainOnBatch(x, y), times: [] as number[], cpu: [] as number[] },
    ];
    for (const v of variants) for (let w = 0; w < 2; w++) await v.run();
    for (let r = 0; r < 3; r++) {
      for (const v of variants) {
        for (let s = 0; s < Math.ceil(steps / 3); s++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await v.run();
          v.times.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          v.cpu.push((c.user + c.system) / 1000);
        }
      }
    }
    for (const [what, key] of [
      ['wall', 'times'],
      ['cpu', 'cpu'],
    ] as const) {
      const [p, s, m] = variants.map((v) => median(v[key]));
      const cell = (ms: number) => `${ms.toFixed(1)} ms (${(p / ms).toFixed(2)}x)`;
      console.log(
        `${`${c.name} [${what}]`.padEnd(60)} ${p.toFixed(1).padStart(6)} ms ${cell(s).padStart(17)} ${cell(m).padStart(17)}  ${(s / m).toFixed(2)}`,
      );
    }
    tf.dispose([x, y]);
    for (const model of [plain, scoped, converted]) model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
