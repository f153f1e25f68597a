// meSimp on MNIST (Sun et al. 2017, "model simplification"): the paper's MLP 784-h-h-10 trained in cycles
// with meProp; hidden units that meProp rarely kept are removed, either at the end of each cycle but the last
// or, as in the paper's code, several times per epoch in alternate cycles, and training goes on with the
// smaller model. Compared, per seed and with the same initial weights and batches, with the plain h-wide
// model and with a plain model trained from scratch at the reduced widths; then the inference time of the
// plain h-wide model against the simplified one.
import * as tf from '@tensorflow/tfjs';
import { distillationTargets, simplifyInCycles, type TrainHelpers } from '@meprop/layers';
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
  /**
   * Adam's learning rate from the last cycle's first epoch on, in all three arms (the plain ones switch at the
   * same epoch, keeping their Adam state); undefined: learningRate throughout.
   */
  lastCycleLr?: number;
  /**
   * Cosine decay of Adam's learning rate over the last cycle's epochs, in all three arms: from the last
   * cycle's rate (lastCycleLr, or learningRate) in its first epoch down to this in its last (set per epoch);
   * undefined: no decay.
   */
  finalLr?: number;
  /**
   * Self-distillation in the meSimp arm (simplifyInCycles' `distill`): after each cut the model before it
   * teaches; undefined: none. The plain arms have no teacher.
   */
  distill?: { weight: number; temperature: number; teacher: 'last-cut' | 'first-cut' };
  /**
   * A fourth arm (needs `distill`): a plain model at the final widths from scratch that fits, for all its
   * epochs, the distillation targets of the trained plain full-width model (same weight and temperature).
   */
  distilledBaseline?: boolean;
  /**
   * Units each hidden layer keeps at most at the end of the simplifying cycles: a cap on top of the threshold
   * that shrinks from `hidden` to this over the simplifications (capSchedule); undefined: no cap.
   */
  maxUnits?: number;
  /**
   * First cycle (0-based) whose simplifications the cap applies to; earlier cycles simplify by the threshold
   * alone (e.g. threshold 0: they only train). Default 0.
   */
  maxUnitsFromCycle?: number;
  /**
   * Simplifications per epoch in a simplifying cycle (the paper's code: 8); undefined: one at the end of the
   * cycle.
   */
  simplifyPerEpoch?: number;
  /**
   * Only the 1st, 3rd, ... cycles simplify; the others train the current size (the paper's code). Otherwise
   * every cycle but the last simplifies.
   */
  alternate?: boolean;
  /** Each cycle starts with a fresh optimizer state (the paper's code clears Adam's moments). */
  resetOptimizer?: boolean;
  batchSize: number;
  learningRate: number;
  dropout: number;
  /**
   * Initial weights: 'meprop' (lancopku/meProp's PyTorch code: weights and biases from U(±1/sqrt(fan_out))) or
   * 'mesimp' (lancopku/meSimp's C# code: weights from N(0, sd = sqrt(6 / (fan_in + fan_out))), biases 0).
   * Default 'meprop'.
   */
  init?: SimpInit;
  /** Clip each gradient entry to ±clip before Adam's update (meSimp's code: 5); undefined: no clipping. */
  clip?: number;
  /** Seeds, one full comparison each. */
  seeds: number[];
  /** Backends, batch sizes and repetitions of the inference timing. */
  inferenceBackends: BackendName[];
  inferenceBatches: number[];
  inferenceReps: number;
  progress: Progress;
}

export type SimpInit = 'meprop' | 'mesimp';

/**
 * The model of the papers' released code: relu hidden layers with dropout after each, softmax output; initial
 * weights as `init` says (see SimpOptions.init). Layer names are stable so meSimp's report reads hidden1, hidden2.
 */
export function paperMlp(hidden: number[], seed: number, dropout: number, init: SimpInit = 'meprop'): tf.Sequential {
  const widths = [MNIST_PIXELS, ...hidden, MNIST_CLASSES];
  const m = tf.sequential();
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    const s = 1 / Math.sqrt(widths[i]);
    const uniform = (offset: number) => tf.initializers.randomUniform({ minval: -s, maxval: s, seed: seed * 31 + offset + i });
    const sd = Math.sqrt(6 / (widths[i - 1] + widths[i]));
    m.add(
      tf.layers.dense({
        ...(i === 1 ? { inputShape: [MNIST_PIXELS] } : {}),
        units: widths[i],
        activation: last ? 'softmax' : 'relu',
        kernelInitializer:
          init === 'mesimp' ? tf.initializers.randomNormal({ mean: 0, stddev: sd, seed: seed * 31 + i }) : uniform(0),
        biasInitializer: init === 'mesimp' ? tf.initializers.zeros() : uniform(100),
        name: last ? 'output' : `hidden${i}`,
      }),
    );
    // No dropout seed: tfjs's Dropout with a seed draws the same mask at every step.
    if (!last && dropout > 0) m.add(tf.layers.dropout({ rate: dropout, name: `dropout${i}` }));
  }
  return m;
}

/**
 * tf.train.adam whose update first clips each gradient entry to ±clip (as meSimp's C# optimizers do); the
 * moments and step count are Adam's own, so meSimp's cycles carry and cut them as usual.
 */
export class ClippedAdam extends tf.AdamOptimizer {
  constructor(
    learningRate: number,
    private readonly clip: number,
  ) {
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const clipped = named.map(({ name, tensor }) => ({ name, tensor: tf.clipByValue(tensor, -this.clip, this.clip) }));
    try {
      super.applyGradients(clipped);
    } finally {
      tf.dispose(clipped.map((c) => c.tensor));
    }
  }
}

/**
 * Adam's learning rate in epoch `e` (0-based) of a run of `total` epochs whose last cycle has `last` epochs:
 * `base` before the last cycle; in it, `lastBase` decaying on a cosine to `finalLr` (reached in the last
 * epoch) when finalLr is given, else `lastBase` throughout.
 */
export function lrAtEpoch(
  e: number,
  total: number,
  last: number,
  base: number,
  lastBase: number,
  finalLr: number | undefined,
): number {
  const start = total - last;
  if (e < start) return base;
  if (finalLr === undefined) return lastBase;
  if (last === 1) return finalLr;
  const t = (e - start) / (last - 1);
  return finalLr + ((lastBase - finalLr) * (1 + Math.cos(Math.PI * t))) / 2;
}

/** Sets the learning rate of a tfjs Adam (or ClippedAdam): it reads `learningRate` at every update. */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // By class name: tfjs's optimizers answer instanceof by duck typing (an SGD passes for an Adam).
  if (opt.getClassName() !== 'Adam') throw new Error(`simp: cannot set the learning rate of ${opt.getClassName()}`);
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/** The optimizer of every model here: tf.train.adam, or ClippedAdam when `clip` is set. */
export function simpOptimizer(o: Pick<SimpOptions, 'learningRate' | 'clip'>): tf.Optimizer {
  return o.clip === undefined ? tf.train.adam(o.learningRate) : new ClippedAdam(o.learningRate, o.clip);
}

/**
 * The cap on each hidden layer's units after simplification s of `steps` (s = 0 .. steps - 1): from `hidden`
 * down to `target`, cubic in the fraction of simplifications done (large cuts first, small ones last, as in
 * gradual pruning schedules), `target` at the last one.
 */
export function capSchedule(hidden: number, target: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, s) =>
    Math.max(target, Math.round(target + (hidden - target) * (1 - (s + 1) / steps) ** 3)),
  );
}

/**
 * A fresh optimizer (simpOptimizer at `learningRate`) holding `old`'s state (Adam's moments and step count);
 * `old` is disposed. For a plain arm's switch to the last cycle's learning rate.
 */
export async function withLearningRate(
  old: tf.Optimizer,
  o: Pick<SimpOptions, 'clip'>,
  learningRate: number,
): Promise<tf.Optimizer> {
  // Adam's getWeights hands out its own variables (and a fresh step count): copy them before `old` goes.
  const own = await old.getWeights();
  const state = await Promise.all(
    own.map(async (w) => ({ name: w.name, tensor: tf.tensor(await w.tensor.data(), w.tensor.shape, w.tensor.dtype) })),
  );
  tf.dispose(own.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  const next = simpOptimizer({ learningRate, clip: o.clip });
  await next.setWeights(state);
  tf.dispose(state.map((w) => w.tensor));
  old.dispose();
  return next;
}

function tensors(split: MnistSplit): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.tensor2d(split.images, [split.n, MNIST_PIXELS]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(split.labels, 'int32'), MNIST_CLASSES).toFloat() as tf.Tensor2D);
  return { x, y };
}

/**
 * Examples [from, to) of part `part` of `parts` of an epoch of n examples: whole batches of `batchSize`
 * (the last part takes the epoch's last, partial batch), so the parts together are the epoch's batches.
 */
export function partRange(n: number, batchSize: number, part: number, parts: number): [number, number] {
  const batches = Math.ceil(n / batchSize);
  return [
    Math.min(n, Math.floor((part * batches) / parts) * batchSize),
    Math.min(n, Math.floor(((part + 1) * batches) / parts) * batchSize),
  ];
}

/**
 * `model.fit` over part `part` of `parts` of an epoch in a seed-and-epoch-specific order. Parts end on
 * batch boundaries, so every variant of a seed sees the same batches whether it trains the epoch at once or
 * in parts.
 */
async function trainPart(
  model: tf.LayersModel,
  train: { x: tf.Tensor2D; y: tf.Tensor2D },
  seed: number,
  epoch: number,
  batchSize: number,
  part = 0,
  parts = 1,
  helpers?: TrainHelpers,
): Promise<void> {
  const n = train.x.shape[0];
  const [from, to] = partRange(n, batchSize, part, parts);
  const order = permutation(n, makeRng(seed * 1000 + epoch)).slice(from, to);
  const idx = tf.tensor1d(order, 'int32');
  const [x, y] = [tf.gather(train.x, idx), tf.gather(train.y, idx)];
  // With a distillation teacher: the labels mixed with its soft predictions (one forward of the teacher).
  const targets = helpers === undefined ? y : helpers.targets(x, y, 1000);
  await model.fit(x, targets, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
  tf.dispose([idx, x, y, targets]);
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
    // The whole batch in one call: predict()'s default batchSize (32) would time 32-row slices instead.
    const run = (m: tf.LayersModel) => async () => {
      const y = m.predict(x, { batchSize: batch }) as tf.Tensor;
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
  const simplifies = (c: number): boolean => (o.alternate === true ? c % 2 === 0 : c < o.cycles - 1);
  // Parts per epoch in a simplifying cycle: at most one per batch.
  const perEpoch = o.simplifyPerEpoch === undefined ? null : Math.min(o.simplifyPerEpoch, Math.ceil(data.train.n / o.batchSize));
  const partsOf = (c: number): number => (perEpoch !== null && simplifies(c) ? perEpoch * cycleEpochs[c] : 1);
  // Every simplification (cycle, part) in order, and the cap on the units after each.
  const simplifications: string[] = [];
  for (let c = 0; c < o.cycles; c++)
    if (simplifies(c) && c >= (o.maxUnitsFromCycle ?? 0)) for (let p = 0; p < partsOf(c); p++) simplifications.push(`${c}:${p}`);
  if (o.maxUnits !== undefined && simplifications.length === 0)
    throw new Error(
      `simp: maxUnits ${o.maxUnits} is never applied: no cycle from maxUnitsFromCycle (${o.maxUnitsFromCycle ?? 0}) on simplifies`,
    );
  const caps = o.maxUnits === undefined ? null : capSchedule(o.hidden, o.maxUnits, simplifications.length);
  const capOf = (c: number, p: number): number | undefined => {
    const i = simplifications.indexOf(`${c}:${p}`);
    return caps === null || i < 0 ? undefined : caps[i];
  };
  // The plain arms switch to lastCycleLr where the last cycle starts.
  const lastStart = totalEpochs - cycleEpochs[cycleEpochs.length - 1];
  const lrOf = (c: number): number => (o.lastCycleLr !== undefined && c === o.cycles - 1 ? o.lastCycleLr : o.learningRate);
  const lrAt = (e: number): number =>
    lrAtEpoch(e, totalEpochs, cycleEpochs[cycleEpochs.length - 1], o.learningRate, lrOf(o.cycles - 1), o.finalLr);
  const compilePlain = (m: tf.LayersModel, opt: tf.Optimizer) => m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  const switchLr = async (m: tf.LayersModel, opt: tf.Optimizer, e: number): Promise<tf.Optimizer> => {
    if (o.lastCycleLr === undefined || e !== lastStart) return opt;
    const next = await withLearningRate(opt, o, o.lastCycleLr);
    compilePlain(m, next);
    return next;
  };
  const runs: SimpSeedRun[] = [];
  let inference: SimpInference[] = [];
  const task = o.progress.task('simp');
  const units = (fraction: number, note: string) => task.update(fraction, note);
  const perSeed = 3 * totalEpochs;
  let done = 0;
  const step = (note: string) => units(++done / (perSeed * o.seeds.length), note);

  for (const seed of o.seeds) {
    // Plain, full width; its accuracy is recorded at the cycle boundaries.
    const plain = paperMlp([o.hidden, o.hidden], seed, o.dropout, o.init);
    let plainOpt = simpOptimizer(o);
    compilePlain(plain, plainOpt);
    const plainCurve: number[] = [];
    for (let e = 0; e < totalEpochs; e++) {
      plainOpt = await switchLr(plain, plainOpt, e);
      setLearningRate(plainOpt, lrAt(e));
      await trainPart(plain, train, seed, e, o.batchSize);
      step(`seed ${seed}: plain ${o.hidden} epoch ${e + 1}`);
      if (ends.includes(e + 1)) plainCurve.push(await evaluateAccuracy(plain, data.test));
    }

    // meSimp: the same initial weights and batches.
    const cycles: SimpCycle[] = [];
    const { model: simplified } = await simplifyInCycles(paperMlp([o.hidden, o.hidden], seed, o.dropout, o.init), {
      mePropify: (cycle) => ({ k: o.lastCycleExact === true && cycle === o.cycles - 1 ? o.hidden : o.k, mode: o.mode }),
      threshold: o.threshold,
      minUnits: o.minUnits,
      ...(caps !== null ? { maxUnits: capOf } : {}),
      cycles: o.cycles,
      optimizer: (cycle) => simpOptimizer({ learningRate: lrOf(cycle), clip: o.clip }),
      compile: { loss: 'categoricalCrossentropy' },
      simplifyCycle: simplifies,
      keepOptimizerState: o.resetOptimizer !== true,
      // With simplifyPerEpoch, a simplifying cycle trains in parts of an epoch, each ending with a
      // simplification; otherwise (and in cycles that do not simplify) a cycle is one part.
      partsPerCycle: partsOf,
      ...(o.distill !== undefined ? { distill: o.distill } : {}),
      train: async (m, cycle, part, helpers) => {
        const h = o.distill !== undefined ? helpers : undefined;
        const first = ends[cycle] - cycleEpochs[cycle];
        if (perEpoch !== null && simplifies(cycle)) {
          const e = Math.floor(part / perEpoch);
          setLearningRate(m.optimizer, lrAt(first + e));
          await trainPart(m, train, seed, first + e, o.batchSize, part % perEpoch, perEpoch, h);
          if (part % perEpoch === perEpoch - 1) step(`seed ${seed}: meSimp cycle ${cycle + 1} epoch ${e + 1}`);
          return;
        }
        for (let e = 0; e < cycleEpochs[cycle]; e++) {
          setLearningRate(m.optimizer, lrAt(first + e));
          await trainPart(m, train, seed, first + e, o.batchSize, 0, 1, h);
          step(`seed ${seed}: meSimp cycle ${cycle + 1} epoch ${e + 1}`);
        }
      },
      onCycleEnd: async ({ cycle, model, units: u, partUnits }) => {
        const testAccuracy = await evaluateAccuracy(model, data.test);
        cycles.push({
          cycle: cycle + 1,
          epochs: ends[cycle],
          simplified: simplifies(cycle),
          units: [u.hidden1, u.hidden2],
          partUnits: partUnits.map((p) => [p.hidden1, p.hidden2]),
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
    const reduced = paperMlp(finalUnits, seed, o.dropout, o.init);
    let reducedOpt = simpOptimizer(o);
    compilePlain(reduced, reducedOpt);
    for (let e = 0; e < totalEpochs; e++) {
      reducedOpt = await switchLr(reduced, reducedOpt, e);
      setLearningRate(reducedOpt, lrAt(e));
      await trainPart(reduced, train, seed, e, o.batchSize);
      step(`seed ${seed}: plain ${finalUnits.join('-')} epoch ${e + 1}`);
    }
    // Optionally: the same widths from scratch, distilled from the trained plain full-width model.
    let distilledAccuracy: number | undefined;
    if (o.distilledBaseline === true && o.distill !== undefined) {
      const d = o.distill;
      const student = paperMlp(finalUnits, seed, o.dropout, o.init);
      let studentOpt = simpOptimizer(o);
      compilePlain(student, studentOpt);
      const fromPlain: TrainHelpers = {
        teacher: plain,
        targets: (x, y, batchSize) => distillationTargets(plain, d, x, y, batchSize),
      };
      for (let e = 0; e < totalEpochs; e++) {
        studentOpt = await switchLr(student, studentOpt, e);
        setLearningRate(studentOpt, lrAt(e));
        await trainPart(student, train, seed, e, o.batchSize, 0, 1, fromPlain);
      }
      distilledAccuracy = await evaluateAccuracy(student, data.test);
      studentOpt.dispose();
      student.dispose();
    }
    const run: SimpSeedRun = {
      seed,
      cycles,
      units: finalUnits,
      simplifiedAccuracy: cycles[cycles.length - 1].testAccuracy,
      plainAccuracy: plainCurve[plainCurve.length - 1],
      reducedAccuracy: await evaluateAccuracy(reduced, data.test),
      ...(distilledAccuracy !== undefined ? { distilledAccuracy } : {}),
    };
    runs.push(run);
    o.progress.log(
      `seed ${seed}: meSimp ${finalUnits.join('-')} ${(run.simplifiedAccuracy * 100).toFixed(2)}%, plain ${o.hidden} ${(run.plainAccuracy * 100).toFixed(2)}%, ` +
        `plain ${finalUnits.join('-')} from scratch ${(run.reducedAccuracy * 100).toFixed(2)}%` +
        (distilledAccuracy !== undefined
          ? `, plain ${finalUnits.join('-')} from scratch distilled from plain ${o.hidden} ${(distilledAccuracy * 100).toFixed(2)}%`
          : ''),
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
    simplifyPerEpoch: perEpoch,
    alternate: o.alternate === true,
    resetOptimizer: o.resetOptimizer === true,
    init: o.init ?? 'meprop',
    clip: o.clip ?? null,
    maxUnits: o.maxUnits ?? null,
    maxUnitsFromCycle: o.maxUnits === undefined ? null : (o.maxUnitsFromCycle ?? 0),
    lastCycleLr: o.lastCycleLr ?? null,
    finalLr: o.finalLr ?? null,
    distill: o.distill ?? null,
    runs,
    mean: {
      units: [0, 1].map((i) => mean(runs.map((r) => r.units[i]))),
      simplifiedAccuracy: mean(runs.map((r) => r.simplifiedAccuracy)),
      plainAccuracy: mean(runs.map((r) => r.plainAccuracy)),
      reducedAccuracy: mean(runs.map((r) => r.reducedAccuracy)),
      ...(o.distilledBaseline === true && o.distill !== undefined
        ? { distilledAccuracy: mean(runs.map((r) => r.distilledAccuracy ?? NaN)) }
        : {}),
    },
    inference,
  };
}
