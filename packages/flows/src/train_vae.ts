// Minibatch training and evaluation of a Vae on rows of a Float32Array (e.g. binarized MNIST).
import * as tf from '@tensorflow/tfjs-core';
import { seededRandom } from './masks';
import { assertFinite, assertInt } from './validate';
import { Vae } from './vae';

/** n rows of `dim` values, row-major. */
export interface Rows {
  values: Float32Array;
  n: number;
  dim: number;
}

export function assertRows(name: string, rows: Rows): void {
  assertInt(`${name}.n`, rows.n, 1);
  assertInt(`${name}.dim`, rows.dim, 1);
  if (rows.values.length !== rows.n * rows.dim) {
    throw new Error(`${name}.values must hold n * dim = ${rows.n * rows.dim} numbers, got ${rows.values.length}`);
  }
}

function batchOf(rows: Rows, index: ArrayLike<number>, start: number, end: number): tf.Tensor2D {
  const out = new Float32Array((end - start) * rows.dim);
  for (let r = start; r < end; r++) {
    const i = index[r];
    out.set(rows.values.subarray(i * rows.dim, (i + 1) * rows.dim), (r - start) * rows.dim);
  }
  return tf.tensor2d(out, [end - start, rows.dim]);
}

export interface TrainVaeOptions {
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** Seeds the shuffling. */
  seed?: number;
  /** Called after every epoch with the mean training ELBO of that epoch; may be async (e.g. to evaluate). */
  onEpoch?: (epoch: number, trainElbo: number, seconds: number) => void | Promise<void>;
}

/** Adam on −ELBO; returns the mean training ELBO of every epoch. */
export async function trainVae(model: Vae, data: Rows, opts: TrainVaeOptions): Promise<number[]> {
  assertRows('data', data);
  assertInt('epochs', opts.epochs, 1);
  const batchSize = opts.batchSize ?? 100;
  assertInt('batchSize', batchSize, 1);
  const lr = opts.learningRate ?? 1e-3;
  assertFinite('learningRate', lr);
  const optimizer = tf.train.adam(lr);
  const vars = model.trainableVariables();
  const rand = seededRandom(opts.seed ?? 0);
  const order = Array.from({ length: data.n }, (_, i) => i);
  const curve: number[] = [];
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const t0 = Date.now();
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let total = 0;
      for (let start = 0; start < data.n; start += batchSize) {
        const end = Math.min(start + batchSize, data.n);
        const x = batchOf(data, order, start, end);
        const cost = optimizer.minimize(() => model.loss(x), true, vars) as tf.Scalar;
        total -= (await cost.data())[0] * (end - start);
        cost.dispose();
        x.dispose();
      }
      curve.push(total / data.n);
      if (opts.onEpoch) await opts.onEpoch(epoch, total / data.n, (Date.now() - t0) / 1000);
    }
  } finally {
    optimizer.dispose();
  }
  return curve;
}

export interface EvaluateVaeOptions {
  batchSize?: number;
  /** Importance samples for log p(x); 0 skips the estimate. */
  iwSamples?: number;
}

/** Mean single-sample ELBO and mean importance-weighted log-likelihood over the rows. */
export async function evaluateVae(
  model: Vae,
  data: Rows,
  opts: EvaluateVaeOptions = {},
): Promise<{ elbo: number; iwLogLik: number }> {
  assertRows('data', data);
  const batchSize = opts.batchSize ?? 100;
  assertInt('batchSize', batchSize, 1);
  const iwSamples = opts.iwSamples ?? 0;
  assertInt('iwSamples', iwSamples, 0);
  const index = Array.from({ length: data.n }, (_, i) => i);
  let elbo = 0;
  let iw = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const end = Math.min(start + batchSize, data.n);
    const x = batchOf(data, index, start, end);
    const e = tf.tidy(() => tf.sum(model.logWeights(x, 1)));
    elbo += (await e.data())[0];
    e.dispose();
    if (iwSamples > 0) {
      const l = tf.tidy(() => tf.sum(model.importanceWeightedLogLikelihood(x, iwSamples)));
      iw += (await l.data())[0];
      l.dispose();
    }
    x.dispose();
  }
  return { elbo: elbo / data.n, iwLogLik: iwSamples > 0 ? iw / data.n : NaN };
}
