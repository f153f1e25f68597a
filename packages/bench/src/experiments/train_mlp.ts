// A manual training loop for the MNIST MLP that times each phase of a step separately:
//   forward  = a separate forward pass + loss on the same batch (timed on timed steps only),
//   backward = tf.variableGrads (forward + backward) minus that forward,
//   update   = optimizer.applyGradients.
// Every phase awaits the data of what it produced, so no kernel is left running when the clock stops.
import * as tf from '@tensorflow/tfjs';
import { performance } from 'perf_hooks';
import type { MnistData } from '../data/types';
import type { StepTiming } from '../results/schema';
import { makeRng, permutation } from '../util/rng';
import { median } from '../util/stats';
import { crossEntropy, evaluateAccuracy, makeBatch, trainableVariables } from './mlp';

export interface TrainMlpOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Steps at the start excluded from the per-step medians (their time still counts in trainSeconds). */
  warmupSteps: number;
  /** Time the phases of every n-th step (1: every step; 0: no phase timing, training only). */
  timeEvery: number;
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
  const stepsPerEpoch = Math.ceil(data.train.n / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const fwd: number[] = [];
  const grad: number[] = [];
  const upd: number[] = [];
  const accuracyCurve: number[] = [];
  let loopMs = 0;
  let extraForwardMs = 0;
  let step = 0;
  const lossOf = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => crossEntropy(model.apply(x, { training: true }) as tf.Tensor, y);

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = permutation(data.train.n, makeRng(opts.seed * 1000 + epoch));
    const epochStart = performance.now();
    for (let start = 0; start < data.train.n; start += opts.batchSize, step++) {
      const { x, y } = makeBatch(data.train, order, start, opts.batchSize);
      const timed = opts.timeEvery > 0 && step >= opts.warmupSteps && (step - opts.warmupSteps) % opts.timeEvery === 0;
      if (timed) {
        const t0 = performance.now();
        const loss = tf.tidy(() => lossOf(x, y));
        await loss.data();
        const f = performance.now() - t0;
        loss.dispose();
        fwd.push(f);
        extraForwardMs += f;
      }
      const t1 = performance.now();
      const { value, grads } = tf.variableGrads(() => lossOf(x, y), vars);
      await Promise.all([value.data(), ...Object.values(grads).map((g) => g.data())]);
      const t2 = performance.now();
      optimizer.applyGradients(grads);
      await Promise.all(vars.map((v) => v.data()));
      const t3 = performance.now();
      if (timed) {
        grad.push(t2 - t1);
        upd.push(t3 - t2);
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
      opts.onStep?.((step + 1) / totalSteps);
    }
    loopMs += performance.now() - epochStart;
    accuracyCurve.push(await evaluateAccuracy(model, data.test));
  }

  const has = fwd.length > 0;
  const forwardMs = has ? median(fwd) : NaN;
  const gradMs = has ? median(grad) : NaN;
  const updateMs = has ? median(upd) : NaN;
  return {
    timing: {
      forwardMs,
      backwardMs: has ? Math.max(0, gradMs - forwardMs) : NaN,
      updateMs,
      stepMs: has ? median(grad.map((g, i) => g + upd[i])) : NaN,
      // The extra forward passes exist only to be timed: they are not part of training.
      trainSeconds: (loopMs - extraForwardMs) / 1000,
      steps: totalSteps,
      timedSteps: fwd.length,
    },
    accuracyCurve,
    testAccuracy: accuracyCurve[accuracyCurve.length - 1] ?? NaN,
  };
}

