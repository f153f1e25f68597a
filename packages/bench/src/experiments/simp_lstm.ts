// `simp-lstm`: meSimp on an LSTM text classifier (the synthetic keyword task of data/keyword_sequences.ts). Per
// seed: a plain LSTM, the same model trained in meSimp cycles (meProp + simplification, @meprop/layers'
// simplifyInCycles), and a plain LSTM of the reduced size trained from scratch; same initial weights and the
// same batch order for all three, as many epochs each.
import * as tf from '@tensorflow/tfjs';
import { simplifyInCycles } from '@meprop/layers';
import { classificationAccuracy, keywordSequences, type KeywordTask } from '../data/keyword_sequences';
import type { SimpLstmFigures, SimpLstmRun } from '../results/where_figures';
import type { Progress } from '../util/progress';
import { makeRng, permutation } from '../util/rng';

export interface SimpLstmOptions {
  units: number;
  k: number;
  threshold: number;
  minUnits: number;
  cycles: number;
  /** Epochs per cycle; the plain models train cycles x epochs epochs. */
  epochs: number;
  batchSize: number;
  trainSize: number;
  testSize: number;
  /** Tokens per sequence, vocabulary size, classes (keyword tokens). */
  steps: number;
  vocab: number;
  classes: number;
  lr: number;
  seeds: readonly number[];
  progress: Progress;
}

function lstmClassifier(units: number, o: SimpLstmOptions, seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.lstm({
        inputShape: [o.steps, o.vocab],
        units,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
        name: 'lstm',
      }),
      tf.layers.dense({
        units: o.classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
        name: 'out',
      }),
    ],
  });
}

/** One epoch in the order of `epoch`'s seeded permutation (the same for every model of a seed). */
async function trainEpoch(
  model: tf.LayersModel,
  data: KeywordTask,
  o: SimpLstmOptions,
  seed: number,
  epoch: number,
): Promise<void> {
  const idx = tf.tensor1d(permutation(data.x.shape[0], makeRng(seed * 1000 + epoch)), 'int32');
  const [xs, ys] = [tf.gather(data.x, idx), tf.gather(data.y, idx)];
  try {
    await model.fit(xs, ys, { epochs: 1, batchSize: o.batchSize, shuffle: false, verbose: 0 });
  } finally {
    tf.dispose([idx, xs, ys]);
  }
}

async function trainPlain(units: number, train: KeywordTask, o: SimpLstmOptions, seed: number): Promise<tf.LayersModel> {
  const model = lstmClassifier(units, o, seed * 10);
  model.compile({ optimizer: tf.train.adam(o.lr), loss: 'categoricalCrossentropy' });
  for (let e = 0; e < o.cycles * o.epochs; e++) await trainEpoch(model, train, o, seed, e);
  return model;
}

export function keywordTaskLabel(o: Pick<SimpLstmOptions, 'trainSize' | 'testSize' | 'steps' | 'vocab' | 'classes'>): string {
  return `keyword task: ${o.trainSize} train / ${o.testSize} test sequences of ${o.steps} one-hot tokens (vocabulary ${o.vocab}, ${o.classes} classes)`;
}

export async function runSimpLstm(o: SimpLstmOptions): Promise<SimpLstmFigures> {
  const train = keywordSequences(o.trainSize, o.steps, o.vocab, o.classes, 1);
  const test = keywordSequences(o.testSize, o.steps, o.vocab, o.classes, 2);
  const runs: SimpLstmRun[] = [];
  try {
    for (const seed of o.seeds) {
      const task = o.progress.task(`simp-lstm seed ${seed}`);
      const plain = await trainPlain(o.units, train, o, seed);
      const plainAccuracy = classificationAccuracy(plain, test.x, test.y);
      plain.dispose();
      task.update(1 / 3);

      const cycleUnits: number[] = [];
      const cycleAccuracies: number[] = [];
      const { model: simple } = await simplifyInCycles(lstmClassifier(o.units, o, seed * 10), {
        mePropify: { k: o.k },
        threshold: o.threshold,
        minUnits: o.minUnits,
        cycles: o.cycles,
        simplifyLast: false,
        optimizer: () => tf.train.adam(o.lr),
        compile: { loss: 'categoricalCrossentropy' },
        train: async (m, c) => {
          for (let e = 0; e < o.epochs; e++) await trainEpoch(m, train, o, seed, c * o.epochs + e);
        },
        onCycleEnd: ({ model, units }) => {
          cycleUnits.push(units.lstm);
          cycleAccuracies.push(classificationAccuracy(model, test.x, test.y));
        },
      });
      const simplifiedUnits = (simple.layers[0].getConfig() as { units: number }).units;
      const simplifiedAccuracy = classificationAccuracy(simple, test.x, test.y);
      simple.dispose();
      task.update(2 / 3);

      const reduced = await trainPlain(simplifiedUnits, train, o, seed);
      const reducedAccuracy = classificationAccuracy(reduced, test.x, test.y);
      reduced.dispose();
      runs.push({
        seed,
        plainUnits: o.units,
        plainAccuracy,
        cycleUnits,
        cycleAccuracies,
        simplifiedUnits,
        simplifiedAccuracy,
        reducedAccuracy,
      });
      task.done(`${o.units} -> ${simplifiedUnits} units, ${(simplifiedAccuracy * 100).toFixed(1)}%`);
    }
  } finally {
    tf.dispose([train.x, train.y, test.x, test.y]);
  }
  return { task: keywordTaskLabel(o), k: o.k, threshold: o.threshold, cycles: o.cycles, epochsPerCycle: o.epochs, runs };
}
