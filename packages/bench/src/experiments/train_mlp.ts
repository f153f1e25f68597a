// A manual training loop for the MNIST MLP that times each phase of every step, all from the same call:
//   forward  = the loss function inside tf.variableGrads, up to the loss value being read (dataSync),
//   backward = the rest of tf.variableGrads, until every gradient's data exists,
//   update   = optimizer.applyGradients, until every variable's data exists.
// Reading the data is what makes the clock honest: no kernel is left running when it stops. settle() reads it
// (on tensorflow one entry of each tensor, natively: a whole download would add a copy a training loop never makes).
import * as tf from '@tensorflow/tfjs';
import { performance } from 'perf_hooks';
import type { MnistData } from '../data/types';
import type { StepTiming } from '../results/schema';
import { makeRng, permutation } from '../util/rng';
import { median } from '../util/stats';
import { settle } from '../util/timing';
import { crossEntropy, evaluateAccuracy, makeBatch, trainableVariables } from './mlp';

export interface TrainMlpOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Steps at the start excluded from the per-step medians (their time still counts in trainSeconds). */
  warmupSteps: number;
  /** The loss of the model's output against one-hot targets (default: clipped cross-entropy of probabilities). */
  loss?: (output: tf.Tensor, oneHot: tf.Tensor) => tf.Scalar;
  /** Called after each step with the fraction of the training done. */
  onStep?: (fraction: number) => void;
}

export interface TrainMlpResult {
  timing: StepTiming;
  accuracyCurve: number[];
  testAccuracy: number;
}

export async function trainMlp(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  data: MnistData,
  opts: TrainMlpOptions,
): Promise<TrainMlpResult> {
  const vars = trainableVariables(model);
  const lossOf = opts.loss ?? crossEntropy;
  const stepsPerEpoch = Math.ceil(data.train.n / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const fwd: number[] = [];
  const bwd: number[] = [];
  const upd: number[] = [];
  const accuracyCurve: number[] = [];
  let loopMs = 0;
  let step = 0;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = permutation(data.train.n, makeRng(opts.seed * 1000 + epoch));
    const epochStart = performance.now();
    for (let start = 0; start < data.train.n; start += opts.batchSize, step++) {
      const { x, y } = makeBatch(data.train, order, start, opts.batchSize);
      let forwardEnd = 0;
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => {
        const loss = lossOf(model.apply(x, { training: true }) as tf.Tensor, y);
        loss.dataSync();
        forwardEnd = performance.now();
        return loss;
      }, vars);
      await settle(Object.values(grads));
      const t1 = performance.now();
      optimizer.applyGradients(grads);
      await settle(vars);
      const t2 = performance.now();
      if (step >= opts.warmupSteps) {
        fwd.push(forwardEnd - t0);
        bwd.push(t1 - forwardEnd);
        upd.push(t2 - t1);
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
      opts.onStep?.((step + 1) / totalSteps);
    }
    loopMs += performance.now() - epochStart;
    accuracyCurve.push(await evaluateAccuracy(model, data.test));
  }

  const has = fwd.length > 0;
  return {
    timing: {
      forwardMs: has ? median(fwd) : NaN,
      backwardMs: has ? median(bwd) : NaN,
      updateMs: has ? median(upd) : NaN,
      stepMs: has ? median(fwd.map((f, i) => f + bwd[i] + upd[i])) : NaN,
      trainSeconds: loopMs / 1000,
      steps: totalSteps,
      timedSteps: fwd.length,
    },
    accuracyCurve,
    testAccuracy: accuracyCurve[accuracyCurve.length - 1] ?? NaN,
  };
}
