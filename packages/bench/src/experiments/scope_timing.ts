// `first-layer` and `scope`: the ways of applying meProp to the same computation, timed against plain tfjs in
// interleaved rounds (wall-clock and process CPU medians).
// - first-layer: a model's first layer needs only its weight gradient (its input is data). Forward + weight
//   gradient of x [M, K] @ W [K, N] (default a multi-hot text classifier's first layer, 128x10000 @ 10000x16),
//   as tf.matMul, tf.matMul inside withMeProp, mePropMatMul and a mePropDense layer.
// - scope: one training step (model.trainOnBatch, tf.train.adam for every variant, so only the backward
//   differs) of models as tfjs-examples has them, plain, under withMeProp and converted by mePropify.
import * as tf from '@tensorflow/tfjs';
import { mePropMatMul, withMeProp, type MePropMode } from '@meprop/core';
import { mePropDense, mePropify } from '@meprop/layers';
import type { VariantTimingFigures, VariantTimingRow } from '../results/where_figures';
import type { Progress } from '../util/progress';
import { median, ratio } from '../util/stats';
import { timeInterleavedWithCpu, type RepeatOptions } from '../util/timing';

interface TimedVariant {
  name: string;
  run: () => Promise<void>;
}

/** Times `variants` interleaved; speed-ups are against the first. */
async function timeCase(
  id: string,
  description: string,
  variants: readonly TimedVariant[],
  opts: RepeatOptions,
): Promise<VariantTimingRow[]> {
  const samples = await timeInterleavedWithCpu(
    variants.map((v) => v.run),
    opts,
  );
  const baseWall = median(samples[0].wall);
  const baseCpu = median(samples[0].cpu);
  return variants.map((v, i) => {
    const wallMs = median(samples[i].wall);
    const cpuMs = median(samples[i].cpu);
    return {
      case: id,
      description,
      variant: v.name,
      wallMs,
      cpuMs,
      wallSpeedup: i === 0 ? null : ratio(baseWall, wallMs),
      cpuSpeedup: i === 0 ? null : ratio(baseCpu, cpuMs),
      reps: opts.reps,
    };
  });
}

export interface FirstLayerOptions extends RepeatOptions {
  batch: number;
  inDim: number;
  outDim: number;
  k: number;
  mode: MePropMode;
  /** Fraction of ones in the multi-hot input. */
  density: number;
  seed: number;
}

export const FIRST_LAYER_VARIANTS = ['tf.matMul', 'withMeProp + tf.matMul', 'mePropMatMul', 'mePropDense'] as const;

export async function runFirstLayer(o: FirstLayerOptions): Promise<VariantTimingFigures> {
  const { batch: M, inDim: K, outDim: N } = o;
  const x = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([M, K], 0, 1, 'float32', o.seed), o.density), 'float32'));
  const dy = tf.randomNormal([M, N], 0, 1, 'float32', o.seed + 1);
  const w = tf.tidy(() => tf.variable(tf.randomNormal([K, N], 0, 0.05, 'float32', o.seed + 2)));
  const config = { k: o.k, mode: o.mode };
  const dense = mePropDense({ units: N, k: o.k, mode: o.mode, useBias: false, inputShape: [K] });
  dense.build([null, K]);
  dense.setWeights([w]);
  const denseKernel = dense.trainableWeights[0].read() as tf.Variable;
  /** dW of x @ v's forward through `f` against the upstream gradient dy. */
  const weightGradOf = (f: (v: tf.Tensor) => tf.Tensor, v: tf.Variable): tf.Tensor => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(v), dy)) as tf.Scalar, [v]);
    value.dispose();
    return grads[v.name];
  };
  const products: Array<[string, (v: tf.Tensor) => tf.Tensor, tf.Variable]> = [
    [FIRST_LAYER_VARIANTS[0], (v) => tf.matMul(x, v), w],
    [FIRST_LAYER_VARIANTS[1], (v) => tf.matMul(x, v), w],
    [FIRST_LAYER_VARIANTS[2], (v) => mePropMatMul(x, v, config), w],
    [FIRST_LAYER_VARIANTS[3], () => dense.apply(x) as tf.Tensor, denseKernel],
  ];
  const inScope = (name: string, fn: () => tf.Tensor): tf.Tensor =>
    name === FIRST_LAYER_VARIANTS[1] ? withMeProp(config, fn) : fn();
  // Forward + gradient with respect to the weight only; the gradient is read back (which ends the work).
  const variants: TimedVariant[] = products.map(([name, f, v]) => ({
    name,
    run: async () => {
      const g = inScope(name, () => weightGradOf(f, v));
      await g.data();
      g.dispose();
    },
  }));
  try {
    const rows = await timeCase(
      `${M}x${K}x${N}.k${o.k}`,
      `x ${M}x${K} (multi-hot, ${(o.density * 100).toFixed(1)}% ones) @ W ${K}x${N}, ${o.mode} k=${o.k}`,
      variants,
      o,
    );
    // The three meProp variants must compute the same dW (random mode draws anew per call: not checked).
    if (o.mode !== 'random') {
      const grads = products.map(([name, f, v]) => inScope(name, () => weightGradOf(f, v)));
      rows.forEach((row, i) => {
        row.maxAbsDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(grads[i], grads[2]))).dataSync()[0]);
      });
      tf.dispose(grads);
    }
    return {
      what: 'forward + weight gradient (the input needs none), read back',
      ...(o.mode !== 'random' ? { reference: FIRST_LAYER_VARIANTS[2] } : {}),
      rows,
    };
  } finally {
    tf.dispose([x, dy, w]);
    // Applied to tensors only, the layer counts no use, so Layer.dispose() refuses: free its weights directly.
    for (const v of dense.weights) v.dispose();
  }
}

/** A model of the `scope` command: its builder, a batch of its data, and the k of its converted layers. */
interface ScopeCase {
  description: string;
  k: number;
  build(seed: number): tf.LayersModel;
  data(seed: number): { x: tf.Tensor; y: tf.Tensor; loss: string };
}

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

function recurrentCase(kind: 'lstm' | 'gru'): ScopeCase {
  return {
    description: `${kind.toUpperCase()} 128 units over 20 steps of 32 features, batch 32, k 32`,
    k: 32,
    build: (s) =>
      tf.sequential({
        layers: [
          (kind === 'lstm' ? tf.layers.lstm : tf.layers.gru)({
            inputShape: [20, 32],
            units: 128,
            kernelInitializer: init(s * 100 + 10),
            recurrentInitializer: 'glorotUniform',
          }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(s * 100 + 11) }),
        ],
      }),
    data: (s) => ({
      x: tf.randomNormal([32, 20, 32], 0, 1, 'float32', s * 100 + 12),
      y: tf.tidy(() => tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', s * 100 + 13), 10)),
      loss: 'categoricalCrossentropy',
    }),
  };
}

export const SCOPE_MODELS = ['sentiment', 'mnist', 'lstm', 'gru'] as const;
export type ScopeModelName = (typeof SCOPE_MODELS)[number];

const SCOPE_CASES: Record<ScopeModelName, ScopeCase> = {
  sentiment: {
    description: 'sentiment MLP 10000-16-16-1 (multi-hot input), batch 128, k 3',
    k: 3,
    build: (s) =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [10000], units: 16, activation: 'relu', kernelInitializer: init(s * 100 + 1) }),
          tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(s * 100 + 2) }),
          tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(s * 100 + 3) }),
        ],
      }),
    data: (s) => ({
      x: tf.tidy(() => tf.cast(tf.less(tf.randomUniform([128, 10000], 0, 1, 'float32', s * 100 + 4), 0.01), 'float32')),
      y: tf.tidy(() => tf.cast(tf.less(tf.randomUniform([128, 1], 0, 1, 'float32', s * 100 + 5), 0.5), 'float32')),
      loss: 'binaryCrossentropy',
    }),
  },
  mnist: {
    description: 'MNIST dense 784-128-10, batch 320, k 13',
    k: 13,
    build: (s) =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28, 1] }),
          tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(s * 100 + 6) }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(s * 100 + 7) }),
        ],
      }),
    data: (s) => ({
      x: tf.randomUniform([320, 28, 28, 1], 0, 1, 'float32', s * 100 + 8),
      y: tf.tidy(() => tf.oneHot(tf.randomUniform([320], 0, 10, 'int32', s * 100 + 9), 10)),
      loss: 'categoricalCrossentropy',
    }),
  },
  lstm: recurrentCase('lstm'),
  gru: recurrentCase('gru'),
};

export const SCOPE_VARIANTS = ['plain', 'withMeProp', 'mePropify'] as const;

export interface ScopeOptions extends RepeatOptions {
  models: readonly ScopeModelName[];
  /** Seeds the weights and the data (every variant of a model gets the same). */
  seed: number;
  progress: Progress;
}

export async function runScope(o: ScopeOptions): Promise<VariantTimingFigures> {
  const rows: VariantTimingRow[] = [];
  for (const name of o.models) {
    const c = SCOPE_CASES[name];
    const task = o.progress.task(`scope ${name}`);
    const { x, y, loss } = c.data(o.seed);
    const config = { k: c.k, mode: 'unified' as const };
    const plain = c.build(o.seed);
    const scoped = c.build(o.seed);
    const converted = mePropify(c.build(o.seed), config).model;
    const optimizers = [plain, scoped, converted].map((m) => {
      const opt = tf.train.adam(1e-3);
      m.compile({ optimizer: opt, loss });
      return opt;
    });
    const step = (m: tf.LayersModel) => async (): Promise<void> => {
      await m.trainOnBatch(x, y);
    };
    try {
      rows.push(
        ...(await timeCase(
          name,
          c.description,
          [
            { name: SCOPE_VARIANTS[0], run: step(plain) },
            { name: SCOPE_VARIANTS[1], run: () => withMeProp(config, step(scoped)) },
            { name: SCOPE_VARIANTS[2], run: step(converted) },
          ],
          o,
        )),
      );
    } finally {
      tf.dispose([x, y]);
      for (const m of [plain, scoped, converted]) m.dispose();
      for (const opt of optimizers) opt.dispose();
    }
    task.done();
  }
  return { what: 'one training step (model.trainOnBatch, tf.train.adam), unified meProp, output layer exact', rows };
}
