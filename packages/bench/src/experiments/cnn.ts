// `meprop-bench cnn`: the convnet of tfjs-examples' mnist-node as issue 13 describes it (Conv2D 32-32-64-64
// 3×3 relu with max-pools, Dense 512 relu, dropout, Dense 10 softmax) on the embedded MNIST digits, plain tfjs
// against mePropify'd copies (same initial weights, same batches, same optimizer: tf.train.adam). Each training
// step of every variant runs on the same batch in interleaved order, so load changes hit them alike; per epoch
// the median step time and the test accuracy.
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '@meprop/layers';
import type { MePropifyOptions } from '@meprop/layers';
import type { MePropMode } from '@meprop/core';
import type { MnistData, MnistSplit } from '../data/types';
import { makeRng, permutation } from '../util/rng';
import { median } from '../util/stats';
import { settle, timeOnce } from '../util/timing';
import { crossEntropy, MNIST_CLASSES, trainableVariables } from './mlp';

export type CnnMethod = 'plain' | MePropMode;

/** Per-layer mePropify settings by layer name (conv1..conv4, dense, output), or false to leave a layer exact. */
export type CnnOverrides = NonNullable<MePropifyOptions['overrides']>;

/** One mePropify'd copy of the convnet, labelled in the figures. */
export interface CnnVariant {
  label: string;
  mode: MePropMode;
  /** k of every converted layer (default: the run's k). */
  k?: number;
  overrides?: CnnOverrides;
}

export interface CnnOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Kept output channels / units per converted layer: a fraction in (0, 1) or a count (mePropify's k). */
  k: number;
  /** plain and meProp modes; each mode is a copy labelled by its name, converted with k and `overrides`. */
  methods: CnnMethod[];
  /** mePropify's per-layer settings for the copies of `methods`. */
  overrides?: CnnOverrides;
  /** More copies with settings of their own (labels must differ from each other and from the methods). */
  variants?: CnnVariant[];
  learningRate: number;
  /**
   * The meProp copies' optimizer: 'adam' (tf.train.adam, as plain) or 'sparse-adam' (@meprop/layers' lazy
   * sparseAdam: the k kept columns of a meProp Dense kernel's gradient reach the update as slices). Plain
   * always trains with tf.train.adam. Default 'adam'.
   */
  optimizer?: 'adam' | 'sparse-adam';
  log?: (line: string) => void;
}

export interface CnnEpochFigure {
  /** 'plain', a mode of `methods`, or a variant's label. */
  method: string;
  epoch: number;
  /** Median ms of one training step (forward, backward, Adam update) over the epoch. */
  stepMs: number;
  /** plain's stepMs / this stepMs, from the same interleaved run. */
  speedup: number;
  /** Median process CPU ms (user + system, all threads) of one step: steadier than wall-clock under load. */
  stepCpuMs: number;
  /** plain's stepCpuMs / this stepCpuMs. */
  cpuSpeedup: number;
  testAccuracy: number;
  trainLoss: number;
}

/** The convnet, from seeded initializers so that every variant starts from the same weights. */
export function buildConvnet(seed: number): tf.Sequential {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 37 + i });
  const conv = (name: string, filters: number, i: number, inputShape?: number[]) =>
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: init(i),
      ...(inputShape ? { inputShape } : {}),
    });
  return tf.sequential({
    layers: [
      conv('conv1', 32, 1, [28, 28, 1]),
      conv('conv2', 32, 2),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      conv('conv3', 64, 3),
      conv('conv4', 64, 4),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dropout({ name: 'drop1', rate: 0.25, seed }),
      tf.layers.dense({ name: 'dense', units: 512, activation: 'relu', kernelInitializer: init(5) }),
      tf.layers.dropout({ name: 'drop2', rate: 0.5, seed: seed + 1 }),
      tf.layers.dense({ name: 'output', units: MNIST_CLASSES, activation: 'softmax', kernelInitializer: init(6) }),
    ],
  });
}

function imageBatch(split: MnistSplit, order: Int32Array, start: number, size: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = Math.min(size, order.length - start);
  const xs = new Float32Array(n * 784);
  const ys = new Float32Array(n * MNIST_CLASSES);
  for (let i = 0; i < n; i++) {
    const idx = order[start + i];
    xs.set(split.images.subarray(idx * 784, (idx + 1) * 784), i * 784);
    ys[i * MNIST_CLASSES + split.labels[idx]] = 1;
  }
  return { x: tf.tensor4d(xs, [n, 28, 28, 1]), y: tf.tensor2d(ys, [n, MNIST_CLASSES]) };
}

async function accuracy(model: tf.LayersModel, split: MnistSplit): Promise<number> {
  const order = Int32Array.from({ length: split.n }, (_, i) => i);
  let correct = 0;
  for (let start = 0; start < split.n; start += 250) {
    const { x, y } = imageBatch(split, order, start, 250);
    const hits = tf.tidy(() =>
      tf.sum(tf.cast(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, -1), tf.argMax(y, -1)), 'int32')),
    );
    correct += (await hits.data())[0];
    tf.dispose([x, y, hits]);
  }
  return correct / split.n;
}

interface Variant {
  method: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  vars: tf.Variable[];
}

/**
 * One training step (minimize, as model.fit runs it); resolves when the loss and the updated weights exist
 * (settle: on tensorflow one entry of each is read, elsewhere they are downloaded; alike for every variant).
 */
async function step(v: Variant, x: tf.Tensor, y: tf.Tensor): Promise<number> {
  const value = v.optimizer.minimize(
    () => crossEntropy(v.model.apply(x, { training: true }) as tf.Tensor, y),
    true,
    v.vars,
  ) as tf.Scalar;
  await settle([value, ...v.vars]);
  const loss = (await value.data())[0];
  value.dispose();
  return loss;
}

export async function runCnnExperiment(data: MnistData, opts: CnnOptions): Promise<CnnEpochFigure[]> {
  const log = opts.log ?? (() => undefined);
  const base = buildConvnet(opts.seed);
  const specs: Array<{ label: string; mode: CnnMethod; k: number; overrides?: CnnOverrides }> = [
    ...opts.methods.map((m) => ({ label: m, mode: m, k: opts.k, overrides: opts.overrides })),
    ...(opts.variants ?? []).map((v) => ({ label: v.label, mode: v.mode, k: v.k ?? opts.k, overrides: v.overrides })),
  ];
  const labels = new Set<string>();
  for (const s of specs) {
    if (labels.has(s.label)) throw new Error(`cnn: two variants are labelled '${s.label}'`);
    labels.add(s.label);
  }
  const variants: Variant[] = specs.map((s) => {
    const model =
      s.mode === 'plain'
        ? buildConvnet(opts.seed)
        : mePropify(base, { k: s.k, mode: s.mode, seed: opts.seed, ...(s.overrides ? { overrides: s.overrides } : {}) }).model;
    if (s.mode === 'plain') model.setWeights(base.getWeights());
    const optimizer =
      s.mode !== 'plain' && opts.optimizer === 'sparse-adam' ? sparseAdam(opts.learningRate) : tf.train.adam(opts.learningRate);
    return { method: s.label, model, optimizer, vars: trainableVariables(model) };
  });
  const figures: CnnEpochFigure[] = [];
  try {
    const rng = makeRng(opts.seed);
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const order = permutation(data.train.n, rng);
      const times = variants.map(() => [] as number[]);
      const cpuTimes = variants.map(() => [] as number[]);
      const losses = variants.map(() => [] as number[]);
      for (let start = 0; start + opts.batchSize <= order.length; start += opts.batchSize) {
        const { x, y } = imageBatch(data.train, order, start, opts.batchSize);
        for (let j = 0; j < variants.length; j++) {
          let loss = 0;
          const c0 = process.cpuUsage();
          times[j].push(
            await timeOnce(async () => {
              loss = await step(variants[j], x, y);
            }),
          );
          const c = process.cpuUsage(c0);
          cpuTimes[j].push((c.user + c.system) / 1000);
          losses[j].push(loss);
        }
        tf.dispose([x, y]);
      }
      const plainIdx = variants.findIndex((v) => v.method === 'plain');
      // The first step of a run compiles kernels and allocates optimizer slots: leave it out of epoch 1's median.
      const trim = (t: number[]): number[] => (epoch === 1 && t.length > 1 ? t.slice(1) : t);
      const stepMs = times.map((t) => median(trim(t)));
      const stepCpuMs = cpuTimes.map((t) => median(trim(t)));
      for (let j = 0; j < variants.length; j++) {
        const fig: CnnEpochFigure = {
          method: variants[j].method,
          epoch,
          stepMs: stepMs[j],
          speedup: plainIdx >= 0 ? stepMs[plainIdx] / stepMs[j] : NaN,
          stepCpuMs: stepCpuMs[j],
          cpuSpeedup: plainIdx >= 0 ? stepCpuMs[plainIdx] / stepCpuMs[j] : NaN,
          testAccuracy: await accuracy(variants[j].model, data.test),
          trainLoss: losses[j].reduce((a, b) => a + b, 0) / Math.max(1, losses[j].length),
        };
        figures.push(fig);
        log(
          `epoch ${epoch} ${fig.method}: step ${fig.stepMs.toFixed(1)} ms (${fig.speedup.toFixed(2)}x; cpu ${fig.stepCpuMs.toFixed(1)} ms, ${fig.cpuSpeedup.toFixed(2)}x), test ${(100 * fig.testAccuracy).toFixed(2)}%, loss ${fig.trainLoss.toFixed(4)}`,
        );
      }
    }
  } finally {
    base.dispose();
    for (const v of variants) {
      v.model.dispose();
      v.optimizer.dispose();
    }
  }
  return figures;
}
