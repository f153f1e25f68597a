// meSimp on MNIST (Sun et al. 2017, "model simplification"): the paper's MLP 784-h-h-10 trained in cycles
// with meProp; after each cycle but the last, hidden units that meProp rarely kept are removed and training
// goes on with the smaller model (the last cycle fine-tunes it). Compared, per seed and with the same
// initial weights and batches, with the plain h-wide model and with a plain model trained from scratch at
// the reduced widths; then the inference time of the plain h-wide model against the simplified one.
import * as tf from '@tensorflow/tfjs';
import { simplifyInCycles } from '@meprop/layers';
import type { MnistData, MnistSplit } from '../data/types';
import type { BackendName } from '../results/schema';
import type { SimpCycle, SimpFigures, SimpInference, SimpSeedRun } from '../results/simp_figures';
import { setupBackend } from '../util/backend';
import type { Progress } from '../util/progress';
import { makeRng, permutation } from '../util/rng';
import { median } from '../util/stats';
import { settle, timeInterleaved } from '../util/timing';
import { evaluateAccuracy, MNIST_CLASSES, MNIST_PIXELS } from './mlp';

export interface SimpOptions {
  hidden: number;
  k: number;
  mode: 'per-example' | 'unified';
  threshold: number;
  minUnits: number;
  cycles: number;
  epochsPerCycle: number;
  /** Epochs of the last cycle (the fine-tuning of the final size); default epochsPerCycle. */
  lastCycleEpochs?: number;
  /** Train the last cycle with exact gradients (k = the layer width) instead of meProp. */
  lastCycleExact?: boolean;
  batchSize: number;
  learningRate: number;
  dropout: number;
  /** Seeds, one full comparison each. */
  seeds: number[];
  /** Backends, batch sizes and repetitions of the inference timing. */
  inferenceBackends: BackendName[];
  inferenceBatches: number[];
  inferenceReps: number;
  progress: Progress;
}

/**
 * The model of the paper's released code: relu hidden layers with dropout after each, weights and biases
 * from U(±1/sqrt(fan_out)), softmax output. Layer names are stable so meSimp's report reads hidden1, hidden2.
 */
export function paperMlp(hidden: number[], seed: number, dropout: number): tf.Sequential {
  const widths = [MNIST_PIXELS, ...hidden, MNIST_CLASSES];
  const m = tf.sequential();
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    const s = 1 / Math.sqrt(widths[i]);
    const init = (offset: number) => tf.initializers.randomUniform({ minval: -s, maxval: s, seed: seed * 31 + offset + i });
    m.add(
      tf.layers.dense({
        ...(i === 1 ? { inputShape: [MNIST_PIXELS] } : {}),
        units: widths[i],
        activation: last ? 'softmax' : 'relu',
        kernelInitializer: init(0),
        biasInitializer: init(100),
        name: last ? 'output' : `hidden${i}`,
      }),
    );
    // No dropout seed: tfjs's Dropout with a seed draws the same mask at every step.
    if (!last && dropout > 0) m.add(tf.layers.dropout({ rate: dropout, name: `dropout${i}` }));
  }
  return m;
}

function tensors(split: MnistSplit): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.tensor2d(split.images, [split.n, MNIST_PIXELS]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(split.labels, 'int32'), MNIST_CLASSES).toFloat() as tf.Tensor2D);
  return { x, y };
}

/** One epoch of `model.fit` over a seed-and-epoch-specific order: every variant of a seed sees the same batches. */
async function trainEpoch(
  model: tf.LayersModel,
  train: { x: tf.Tensor2D; y: tf.Tensor2D },
  seed: number,
  epoch: number,
  batchSize: number,
): Promise<void> {
  const n = train.x.shape[0];
  const idx = tf.tensor1d(permutation(n, makeRng(seed * 1000 + epoch)), 'int32');
  const [x, y] = [tf.gather(train.x, idx), tf.gather(train.y, idx)];
  await model.fit(x, y, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
  tf.dispose([idx, x, y]);
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * predict() time of two models, interleaved, per backend and batch size (inputs: the first test digits).
 * Switching backends moves the weights on first use (tfjs copies a tensor's data to the backend that reads
 * it); the warm-up calls absorb that.
 */
async function timeInference(
  a: tf.LayersModel,
  b: tf.LayersModel,
  test: tf.Tensor2D,
  backends: BackendName[],
  batches: number[],
  reps: number,
): Promise<SimpInference[]> {
  const home = tf.getBackend() as BackendName;
  const out: SimpInference[] = [];
  for (const backend of backends) {
    await setupBackend(backend);
    out.push(...(await timeOnBackend(a, b, test, backend, batches, reps)));
  }
  await setupBackend(home);
  return out;
}

async function timeOnBackend(
  a: tf.LayersModel,
  b: tf.LayersModel,
  test: tf.Tensor2D,
  backend: BackendName,
  batches: number[],
  reps: number,
): Promise<SimpInference[]> {
  const out: SimpInference[] = [];
  for (const batch of batches) {
    const x = tf.slice(test, [0, 0], [Math.min(batch, test.shape[0]), -1]);
    const run = (m: tf.LayersModel) => async () => {
      const y = m.predict(x) as tf.Tensor;
      await settle([y]);
      y.dispose();
    };
    const [sa, sb] = await timeInterleaved([run(a), run(b)], { warmup: 5, reps });
    const originalMs = median(sa);
    const simplifiedMs = median(sb);
    out.push({ backend, batch, originalMs, simplifiedMs, speedup: simplifiedMs > 0 ? originalMs / simplifiedMs : null });
    x.dispose();
  }
  return out;
}

export async function runSimp(data: MnistData, o: SimpOptions): Promise<SimpFigures> {
  const train = tensors(data.train);
  const test = tensors(data.test);
  // Epochs of each cycle, and the epoch count at the end of each: the plain model is evaluated there too.
  const cycleEpochs = Array.from({ length: o.cycles }, (_, c) =>
    c === o.cycles - 1 ? (o.lastCycleEpochs ?? o.epochsPerCycle) : o.epochsPerCycle,
  );
  const ends = cycleEpochs.map((_, c) => cycleEpochs.slice(0, c + 1).reduce((a, b) => a + b, 0));
  const totalEpochs = ends[ends.length - 1];
  const runs: SimpSeedRun[] = [];
  let inference: SimpInference[] = [];
  const task = o.progress.task('simp');
  const units = (fraction: number, note: string) => task.update(fraction, note);
  const perSeed = 3 * totalEpochs;
  let done = 0;
  const step = (note: string) => units(++done / (perSeed * o.seeds.length), note);

  for (const seed of o.seeds) {
    // Plain, full width; its accuracy is recorded at the cycle boundaries.
    const plain = paperMlp([o.hidden, o.hidden], seed, o.dropout);
    const plainOpt = tf.train.adam(o.learningRate);
    plain.compile({ optimizer: plainOpt, loss: 'categoricalCrossentropy' });
    const plainCurve: number[] = [];
    for (let e = 0; e < totalEpochs; e++) {
      await trainEpoch(plain, train, seed, e, o.batchSize);
      step(`seed ${seed}: plain ${o.hidden} epoch ${e + 1}`);
      if (ends.includes(e + 1)) plainCurve.push(await evaluateAccuracy(plain, data.test));
    }

    // meSimp: the same initial weights and batches.
    const cycles: SimpCycle[] = [];
    const { model: simplified } = await simplifyInCycles(paperMlp([o.hidden, o.hidden], seed, o.dropout), {
      mePropify: (cycle) => ({ k: o.lastCycleExact === true && cycle === o.cycles - 1 ? o.hidden : o.k, mode: o.mode }),
      threshold: o.threshold,
      minUnits: o.minUnits,
      cycles: o.cycles,
      optimizer: () => tf.train.adam(o.learningRate),
      compile: { loss: 'categoricalCrossentropy' },
      simplifyLast: false,
      train: async (m, cycle) => {
        for (let e = 0; e < cycleEpochs[cycle]; e++) {
          await trainEpoch(m, train, seed, ends[cycle] - cycleEpochs[cycle] + e, o.batchSize);
          step(`seed ${seed}: meSimp cycle ${cycle + 1} epoch ${e + 1}`);
        }
      },
      onCycleEnd: async ({ cycle, model, units: u }) => {
        const testAccuracy = await evaluateAccuracy(model, data.test);
        cycles.push({
          cycle: cycle + 1,
          epochs: ends[cycle],
          units: [u.hidden1, u.hidden2],
          testAccuracy,
          plainAccuracy: plainCurve[cycle],
        });
        o.progress.log(
          `seed ${seed} cycle ${cycle + 1}: units ${u.hidden1}, ${u.hidden2}; test accuracy ${(testAccuracy * 100).toFixed(2)}% (plain ${o.hidden}: ${(plainCurve[cycle] * 100).toFixed(2)}%)`,
        );
      },
    });
    const finalUnits = cycles[cycles.length - 1].units;

    // Plain, from scratch at the reduced widths.
    const reduced = paperMlp(finalUnits, seed, o.dropout);
    const reducedOpt = tf.train.adam(o.learningRate);
    reduced.compile({ optimizer: reducedOpt, loss: 'categoricalCrossentropy' });
    for (let e = 0; e < totalEpochs; e++) {
      await trainEpoch(reduced, train, seed, e, o.batchSize);
      step(`seed ${seed}: plain ${finalUnits.join('-')} epoch ${e + 1}`);
    }
    const run: SimpSeedRun = {
      seed,
      cycles,
      units: finalUnits,
      simplifiedAccuracy: cycles[cycles.length - 1].testAccuracy,
      plainAccuracy: plainCurve[plainCurve.length - 1],
      reducedAccuracy: await evaluateAccuracy(reduced, data.test),
    };
    runs.push(run);
    o.progress.log(
      `seed ${seed}: meSimp ${finalUnits.join('-')} ${(run.simplifiedAccuracy * 100).toFixed(2)}%, plain ${o.hidden} ${(run.plainAccuracy * 100).toFixed(2)}%, ` +
        `plain ${finalUnits.join('-')} from scratch ${(run.reducedAccuracy * 100).toFixed(2)}%`,
    );
    if (seed === o.seeds[0])
      inference = await timeInference(plain, simplified, test.x, o.inferenceBackends, o.inferenceBatches, o.inferenceReps);
    plainOpt.dispose();
    reducedOpt.dispose();
    for (const m of [plain, reduced, simplified]) m.dispose();
  }
  task.done();
  tf.dispose([train.x, train.y, test.x, test.y]);
  return {
    hidden: o.hidden,
    k: o.k,
    mode: o.mode,
    threshold: o.threshold,
    minUnits: o.minUnits,
    cycles: o.cycles,
    epochsPerCycle: o.epochsPerCycle,
    lastCycleEpochs: cycleEpochs[cycleEpochs.length - 1],
    runs,
    mean: {
      units: [0, 1].map((i) => mean(runs.map((r) => r.units[i]))),
      simplifiedAccuracy: mean(runs.map((r) => r.simplifiedAccuracy)),
      plainAccuracy: mean(runs.map((r) => r.plainAccuracy)),
      reducedAccuracy: mean(runs.map((r) => r.reducedAccuracy)),
    },
    inference,
  };
}
