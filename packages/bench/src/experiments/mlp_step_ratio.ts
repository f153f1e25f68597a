// One training step (gradients + update) of the MNIST MLP: plain tfjs Adam against meProp (unified k) with the
// lazy sparse Adam, on the same real batches, timed in interleaved rounds; the ratio of the medians.
import * as tf from '@tensorflow/tfjs';
import type { MnistData } from '../data/types';
import { makeRng, permutation } from '../util/rng';
import { median } from '../util/stats';
import { settle, timeInterleaved } from '../util/timing';
import { crossEntropy, makeBatch, trainableVariables } from './mlp';
import { makeVariant, PAPER_LEARNING_RATES, type Variant } from './variants';

export interface StepRatioOptions {
  batchSize: number;
  k: number;
  hidden: number[];
  seed: number;
  warmup: number;
  reps: number;
}

export interface StepRatio {
  plainMs: number;
  mePropMs: number;
  speedup: number;
}

function stepper(v: Variant, data: MnistData, order: Int32Array, batchSize: number): () => Promise<void> {
  const vars = trainableVariables(v.model);
  let start = 0;
  return async () => {
    if (start + batchSize > order.length) start = 0;
    const { x, y } = makeBatch(data.train, order, start, batchSize);
    start += batchSize;
    // minimize(), as model.fit runs a step: the lazy optimizers keep meProp's gradients sparse there.
    const value = v.optimizer.minimize(
      () => crossEntropy(v.model.apply(x, { training: true }) as tf.Tensor, y),
      true,
      vars,
    ) as tf.Scalar;
    // The step is done when the loss and every updated weight exist: settle() (on tensorflow one entry of each
    // read back natively, not the whole weights: a copy into JavaScript a training loop does not make).
    await settle([value, ...vars]);
    tf.dispose([x, y, value]);
  };
}

export async function measureStepRatio(data: MnistData, opts: StepRatioOptions): Promise<StepRatio> {
  const lr = PAPER_LEARNING_RATES.adam;
  const plain = makeVariant('plain', 'adam', { hidden: opts.hidden, seed: opts.seed, k: opts.k, learningRate: lr });
  const meprop = makeVariant('unified', 'adam', { hidden: opts.hidden, seed: opts.seed, k: opts.k, learningRate: lr });
  try {
    const order = permutation(data.train.n, makeRng(opts.seed));
    const [p, m] = await timeInterleaved(
      [stepper(plain, data, order, opts.batchSize), stepper(meprop, data, order, opts.batchSize)],
      { warmup: opts.warmup, reps: opts.reps },
    );
    const plainMs = median(p);
    const mePropMs = median(m);
    return { plainMs, mePropMs, speedup: plainMs / mePropMs };
  } finally {
    plain.dispose();
    meprop.dispose();
  }
}
