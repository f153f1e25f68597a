// `mnist`: the paper's MNIST experiment (Sun et al. 2017, Tables 1-2): MLP 784-500-500-10, plain tfjs against
// meProp (per-example, unified, random-k), with Adam and AdaGrad. Every configuration starts from the same
// weights and sees the data in the same order; speed-ups are plain / meProp times of the same run.
import * as tf from '@tensorflow/tfjs';
import type { MnistData } from '../data/types';
import type { MnistFigures, MnistMethod, MnistRun, OptimizerName, Speedups, StepTiming } from '../results/schema';
import type { Progress } from '../util/progress';
import { median, ratio } from '../util/stats';
import { trainMlp } from './train_mlp';
import { mlpLoss, type MlpProtocol } from './mlp';
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
  /** The MLP's init and dropout (default 'quick': Glorot, no dropout). */
  protocol?: MlpProtocol;
  /** meProp methods with the lazy sparse optimizers (default true) or tf.train's dense ones. */
  sparseOptimizers?: boolean;
  /** Seeds seed, seed+1, ... (default 1): accuracies and curves are their means, timings their medians. */
  seeds?: number;
  /** Called after each seed with the figures aggregated over the seeds so far (to save partial results). */
  onSeedDone?: (figures: MnistFigures, seedsDone: number) => Promise<void>;
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

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One configuration's runs over several seeds as one row: mean accuracies, median timings. */
function aggregate(runs: readonly MnistRun[]): MnistRun {
  if (runs.length === 1) return runs[0];
  const first = runs[0];
  const med = (f: (r: MnistRun) => number): number => median(runs.map(f));
  const curveLength = Math.min(...runs.map((r) => r.accuracyCurve.length));
  return {
    ...first,
    testAccuracy: mean(runs.map((r) => r.testAccuracy)),
    seedAccuracies: runs.map((r) => r.testAccuracy),
    accuracyCurve: Array.from({ length: curveLength }, (_, e) => mean(runs.map((r) => r.accuracyCurve[e]))),
    timing: {
      forwardMs: med((r) => r.timing.forwardMs),
      backwardMs: med((r) => r.timing.backwardMs),
      updateMs: med((r) => r.timing.updateMs),
      stepMs: med((r) => r.timing.stepMs),
      trainSeconds: med((r) => r.timing.trainSeconds),
      steps: first.timing.steps,
      timedSteps: first.timing.timedSteps,
    },
    speedup: null,
  };
}

function figuresOf(opts: MnistExperimentOptions, perSeed: readonly MnistRun[][]): MnistFigures {
  const rows = perSeed[0].map((_, i) => aggregate(perSeed.map((runs) => runs[i])));
  // Speed-ups of the aggregated rows: plain / meProp medians of the same optimizer.
  for (const row of rows) {
    if (row.method === 'plain' || perSeed.length === 1) continue;
    const plain = rows.find((r) => r.optimizer === row.optimizer && r.method === 'plain');
    row.speedup = plain ? speedupsOf(plain.timing, row.timing) : null;
  }
  return { hidden: opts.hidden, ...(opts.protocol ? { protocol: opts.protocol } : {}), seeds: perSeed.length, runs: rows };
}

export async function runMnistExperiment(data: MnistData, opts: MnistExperimentOptions): Promise<MnistFigures> {
  const seeds = opts.seeds ?? 1;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`runMnistExperiment: seeds must be an integer >= 1, got ${seeds}`);
  const perSeed: MnistRun[][] = [];
  for (let s = 0; s < seeds; s++) {
    perSeed.push(await runOneSeed(data, opts, opts.seed + s, seeds > 1 ? ` seed ${opts.seed + s}` : ''));
    await opts.onSeedDone?.(figuresOf(opts, perSeed), s + 1);
  }
  return figuresOf(opts, perSeed);
}

async function runOneSeed(data: MnistData, opts: MnistExperimentOptions, seed: number, seedLabel: string): Promise<MnistRun[]> {
  const runs: MnistRun[] = [];
  const methods: MnistMethod[] = ['plain', ...opts.methods.filter((m) => m !== 'plain')];
  for (const optimizer of opts.optimizers) {
    const lr = opts.learningRates?.[optimizer] ?? PAPER_LEARNING_RATES[optimizer];
    let plainTiming: StepTiming | null = null;
    for (const method of methods) {
      const label = `mnist ${optimizer} ${method}${method === 'plain' ? '' : ` k=${opts.k}`}${seedLabel}`;
      const task = opts.progress.task(label);
      const variant = makeVariant(method, optimizer, {
        hidden: opts.hidden,
        seed,
        k: opts.k,
        learningRate: lr,
        protocol: opts.protocol,
        sparseOptimizers: opts.sparseOptimizers,
      });
      const before = tf.memory().numTensors;
      try {
        const res = await trainMlp(variant.model, variant.optimizer, data, {
          epochs: opts.epochs,
          batchSize: opts.batchSize,
          seed,
          warmupSteps: opts.warmupSteps ?? 5,
          loss: mlpLoss(opts.protocol ?? 'quick'),
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
  return runs;
}
