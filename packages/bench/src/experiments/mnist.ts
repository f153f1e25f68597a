// `mnist`: the paper's MNIST experiment (Sun et al. 2017, Tables 1-2): MLP 784-500-500-10, plain tfjs against
// meProp (per-example, unified, random-k), with Adam and AdaGrad. Every configuration starts from the same
// weights and sees the data in the same order; speed-ups are plain / meProp times of the same run.
import * as tf from '@tensorflow/tfjs';
import type { MnistData } from '../data/types';
import type { MnistFigures, MnistMethod, MnistRun, OptimizerName, Speedups, StepTiming } from '../results/schema';
import type { Progress } from '../util/progress';
import { ratio } from '../util/stats';
import { trainMlp } from './train_mlp';
import { makeVariant, PAPER_LEARNING_RATES } from './variants';

export interface MnistExperimentOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  k: number;
  hidden: number[];
  optimizers: OptimizerName[];
  /** 'plain' is always run first for each optimizer (the speed-ups need it). */
  methods: MnistMethod[];
  learningRates?: Partial<Record<OptimizerName, number>>;
  warmupSteps?: number;
  progress: Progress;
}

export function speedupsOf(plain: StepTiming, meprop: StepTiming): Speedups {
  return {
    forward: ratio(plain.forwardMs, meprop.forwardMs),
    backward: ratio(plain.backwardMs, meprop.backwardMs),
    update: ratio(plain.updateMs, meprop.updateMs),
    step: ratio(plain.stepMs, meprop.stepMs),
    train: ratio(plain.trainSeconds, meprop.trainSeconds),
  };
}

export async function runMnistExperiment(data: MnistData, opts: MnistExperimentOptions): Promise<MnistFigures> {
  const runs: MnistRun[] = [];
  const methods: MnistMethod[] = ['plain', ...opts.methods.filter((m) => m !== 'plain')];
  for (const optimizer of opts.optimizers) {
    const lr = opts.learningRates?.[optimizer] ?? PAPER_LEARNING_RATES[optimizer];
    let plainTiming: StepTiming | null = null;
    for (const method of methods) {
      const label = `mnist ${optimizer} ${method}${method === 'plain' ? '' : ` k=${opts.k}`}`;
      const task = opts.progress.task(label);
      const variant = makeVariant(method, optimizer, { hidden: opts.hidden, seed: opts.seed, k: opts.k, learningRate: lr });
      const before = tf.memory().numTensors;
      try {
        const res = await trainMlp(variant.model, variant.optimizer, data, {
          epochs: opts.epochs,
          batchSize: opts.batchSize,
          seed: opts.seed,
          warmupSteps: opts.warmupSteps ?? 5,
          onStep: (f) => task.update(f),
        });
        if (method === 'plain') plainTiming = res.timing;
        runs.push({
          optimizer,
          method,
          k: method === 'plain' ? null : opts.k,
          learningRate: lr,
          testAccuracy: res.testAccuracy,
          accuracyCurve: res.accuracyCurve,
          timing: res.timing,
          speedup: method === 'plain' || plainTiming === null ? null : speedupsOf(plainTiming, res.timing),
        });
        task.done(`acc ${(res.testAccuracy * 100).toFixed(2)}%, step ${res.timing.stepMs.toFixed(1)} ms`);
      } finally {
        variant.dispose();
      }
      const leaked = tf.memory().numTensors - before;
      if (leaked > 0) opts.progress.log(`note: ${label} left ${leaked} tensors allocated`);
    }
  }
  return { hidden: opts.hidden, runs };
}
