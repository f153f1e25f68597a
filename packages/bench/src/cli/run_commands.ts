// The actions behind the experiment commands. Loaded lazily by cli.ts, so `--help`, `compare` and option
// errors do not pay for loading tfjs and the experiment packages.
import { DEFAULT_K_FRACTIONS, QUICK_K_FRACTIONS, runKSweep } from '../experiments/k_sweep';
import { DEFAULT_KERNEL_SHAPES, QUICK_KERNEL_SHAPES, runKernelBench, type KernelShape } from '../experiments/kernels';
import { runMnistExperiment } from '../experiments/mnist';
import { runIaf } from '../experiments/iaf_runner';
import { runSimp } from '../experiments/simp';
import { CI_SETTINGS, runCi } from '../experiments/ci_run';
import { checkThresholds, describeFailures } from '../ci/check_thresholds';
import { readThresholds, thresholdsFor } from '../ci/thresholds';
import type { IafPosteriorName, KernelMode, MnistMethod, OptimizerName } from '../results/schema';
import { resultSections } from '../report/result_tables';
import { subsetMnist } from '../data/subset';
import { tableToText } from '../report/table';
import type { BackendName, BenchResult } from '../results/schema';
import { finish, prepare, resultHeader, type CommonOptions } from './common';
import * as tf from '@tensorflow/tfjs';
import type { MePropMode } from '@meprop/core';
import { MePropMatMul } from '@meprop/core';
import { MePropDenseForward } from '@meprop/layers';
import { loadUserModel } from '../data/load_user_model';
import {
  describeModelIo,
  readJsonlBatches,
  syntheticBatches,
  type ModelBatch,
  type ModelIo,
  type ModelLoss,
} from '../data/model_batches';
import { buildMlp } from '../experiments/mlp';
import { modelSignature, runModelBench, type ModelBenchOptions, type ModelOptimizerName } from '../experiments/model_bench';
import type { MlpProtocol } from '../experiments/mlp';
import { writeReport } from '../report/write_report';
import type { ShapeSpec } from './parse_options';
import type { CnnOverrides, CnnVariant } from '../experiments/cnn';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function printSummary(result: BenchResult): void {
  for (const s of resultSections(result)) {
    out(`\n${s.heading}`);
    for (const t of s.tables) out(tableToText(t));
  }
  out('');
}

export interface MnistCommandOptions extends CommonOptions {
  protocol: MlpProtocol;
  seeds?: number;
  k: number;
  hidden?: number[];
  optimizers?: OptimizerName[];
  methods?: MnistMethod[];
  mepropOptimizer?: 'sparse' | 'dense';
  lrAdam?: number;
  lrAdagrad?: number;
}

/** What `--protocol` sets when an option is not given. */
const MNIST_PROTOCOL_DEFAULTS: Record<
  MlpProtocol,
  { epochs: number; batchSize: number; seeds: number; optimizers: OptimizerName[]; sparse: boolean }
> = {
  quick: { epochs: 1, batchSize: 10, seeds: 1, optimizers: ['adam', 'adagrad'], sparse: true },
  paper: { epochs: 20, batchSize: 32, seeds: 3, optimizers: ['adam'], sparse: false },
};

export async function mnistCommand(o: MnistCommandOptions): Promise<number> {
  const { progress, data } = await prepare(o, { nTrainQuick: 1000, nTestQuick: 500 });
  const d = MNIST_PROTOCOL_DEFAULTS[o.protocol];
  const epochs = o.epochs ?? d.epochs;
  const batchSize = o.batchSize ?? d.batchSize;
  const seeds = o.seeds ?? d.seeds;
  const hidden = o.hidden ?? [500, 500];
  const optimizers = o.optimizers ?? d.optimizers;
  const methods = o.methods ?? (['per-example', 'unified', 'random'] as MnistMethod[]);
  const sparseOptimizers = o.mepropOptimizer === undefined ? d.sparse : o.mepropOptimizer === 'sparse';
  const result = resultHeader(
    'mnist',
    o,
    { epochs, batchSize, dataSource: data!.source },
    {
      protocol: o.protocol,
      seeds,
      k: o.k,
      hidden,
      optimizers,
      methods,
      mepropOptimizer: sparseOptimizers ? 'sparse' : 'dense',
      lrAdam: o.lrAdam ?? null,
      lrAdagrad: o.lrAdagrad ?? null,
    },
  );
  const figures = await runMnistExperiment(data!, {
    epochs,
    batchSize,
    seed: o.seed,
    seeds,
    protocol: o.protocol,
    sparseOptimizers,
    k: o.k,
    hidden,
    optimizers,
    methods,
    learningRates: { adam: o.lrAdam, adagrad: o.lrAdagrad },
    progress,
    // A long multi-seed run keeps what it has: the result files are rewritten after every seed.
    onSeedDone:
      seeds > 1
        ? async (partial, done) => {
            if (done < seeds) {
              await writeReport({ ...result, mnist: partial }, o.out);
              progress.log(`${done} of ${seeds} seeds done; partial results written to ${o.out}`);
            }
          }
        : undefined,
  });
  result.mnist = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface KSweepCommandOptions extends CommonOptions {
  fractions?: number[];
  hidden: number;
  optimizer: OptimizerName;
}

export async function kSweepCommand(o: KSweepCommandOptions): Promise<number> {
  const { progress, data } = await prepare(o, { nTrainQuick: 1000, nTestQuick: 500 });
  const epochs = o.epochs ?? 1;
  const batchSize = o.batchSize ?? 10;
  const fractions = o.fractions ?? (o.quick ? QUICK_K_FRACTIONS : DEFAULT_K_FRACTIONS);
  const figures = await runKSweep(data!, {
    epochs,
    batchSize,
    seed: o.seed,
    hidden: o.hidden,
    fractions,
    optimizer: o.optimizer,
    progress,
  });
  const result = resultHeader(
    'k-sweep',
    o,
    { epochs, batchSize, dataSource: data!.source },
    {
      fractions,
      hidden: o.hidden,
      optimizer: o.optimizer,
    },
  );
  result.kSweep = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface KernelsCommandOptions extends CommonOptions {
  shapes?: ShapeSpec[];
  shape?: { batch: number; inDim: number; outDim: number };
  k?: number;
  modes: KernelMode[];
  reps?: number;
  warmup?: number;
  slices?: boolean;
  forward?: boolean;
}

export async function kernelsCommand(o: KernelsCommandOptions): Promise<number> {
  if (o.shape && o.shapes) throw new Error('kernels: give either --shape with --k or --shapes, not both');
  if (o.k !== undefined && !o.shape)
    throw new Error('kernels: --k goes with --shape (with --shapes, write the k of each shape as batchxinxout:k)');
  if (o.shape && (o.k ?? 20) > o.shape.outDim)
    throw new Error(`kernels: --k ${o.k ?? 20} exceeds N = ${o.shape.outDim} of --shape`);
  const { progress } = await prepare(o, null);
  const shapes: KernelShape[] = o.shape
    ? [{ group: 'custom', ...o.shape, k: o.k ?? 20 }]
    : o.shapes
      ? o.shapes.map((s) => ({ group: 'custom', ...s }))
      : o.quick
        ? QUICK_KERNEL_SHAPES
        : DEFAULT_KERNEL_SHAPES;
  const reps = o.reps ?? (o.quick ? 7 : 15);
  const warmup = o.warmup ?? (o.quick ? 2 : 3);
  const figures = await runKernelBench({
    shapes,
    modes: o.modes,
    reps,
    warmup,
    seed: o.seed,
    progress,
    slices: o.slices === true,
    forward: o.forward === true,
  });
  const result = resultHeader(
    'kernels',
    o,
    { epochs: 0, batchSize: 0, dataSource: 'synthetic tensors' },
    {
      shapes: shapes.map((s) => `${s.batch}x${s.inDim}x${s.outDim}:${s.k}`),
      modes: o.modes,
      reps,
      warmup,
      slices: o.slices === true,
      forward: o.forward === true,
    },
  );
  result.kernels = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface IafCommandOptions extends CommonOptions {
  posteriors: IafPosteriorName[];
  latentSize?: number;
  iwSamples?: number;
  hidden?: number;
  iafHidden?: number;
  lr?: number;
  context?: number;
}

export async function iafCommand(o: IafCommandOptions): Promise<number> {
  const { progress, data } = await prepare(o, { nTrainQuick: 2000, nTestQuick: 500 });
  const epochs = o.epochs ?? (o.quick ? 1 : 10);
  const task = progress.task('iaf');
  const figures = await runIaf(data!, {
    epochs,
    seed: o.seed,
    batchSize: o.batchSize,
    latentSize: o.latentSize,
    posteriors: o.posteriors,
    iwSamples: o.iwSamples,
    hidden: o.hidden,
    iafHidden: o.iafHidden,
    learningRate: o.lr,
    contextSize: o.context,
    quick: o.quick,
    onProgress: (msg, f) => task.update(f, msg),
  });
  task.done();
  const result = resultHeader(
    'iaf',
    o,
    { epochs, batchSize: o.batchSize ?? 0, dataSource: data!.source },
    {
      posteriors: o.posteriors,
      latentSize: o.latentSize ?? null,
      iwSamples: o.iwSamples ?? null,
      hidden: o.hidden ?? null,
      iafHidden: o.iafHidden ?? null,
      lr: o.lr ?? null,
      context: o.context ?? null,
    },
  );
  result.iaf = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface SimpCommandOptions extends CommonOptions {
  k: number;
  hidden: number;
  threshold: number;
  minUnits: number;
  cycles: number;
  seeds: number;
  mode: 'per-example' | 'unified';
  lr: number;
  dropout: number;
  inferenceReps: number;
  trainDigits?: number;
  testDigits?: number;
  inferenceBackends?: BackendName[];
  lastCycleEpochs?: number;
  lastCycleExact: boolean;
  simplifyPerEpoch?: number;
  alternate: boolean;
  resetOptimizer: boolean;
  init: 'meprop' | 'mesimp';
  clip?: number;
  maxUnits?: number;
  maxUnitsFromCycle: number;
  lastCycleLr?: number;
  finalLr?: number;
  distillWeight?: number;
  distillTemperature: number;
  distillTeacher: 'last-cut' | 'first-cut';
  distilledBaseline: boolean;
}

export async function simpCommand(o: SimpCommandOptions): Promise<number> {
  if (o.distilledBaseline && o.distillWeight === undefined)
    throw new Error('simp: --distilled-baseline needs --distill-weight (its weight and temperature)');
  const prepared = await prepare(o, { nTrainQuick: 1000, nTestQuick: 500 });
  const { progress } = prepared;
  let data = prepared.data!;
  if (o.trainDigits !== undefined || o.testDigits !== undefined) {
    data = subsetMnist(
      data,
      Math.min(o.trainDigits ?? data.train.n, data.train.n),
      Math.min(o.testDigits ?? data.test.n, data.test.n),
    );
  }
  const epochsPerCycle = o.epochs ?? 1;
  const batchSize = o.batchSize ?? 32;
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  const figures = await runSimp(data, {
    hidden: o.hidden,
    k: o.k,
    mode: o.mode,
    threshold: o.threshold,
    minUnits: o.minUnits,
    cycles: o.cycles,
    epochsPerCycle,
    lastCycleEpochs: o.lastCycleEpochs ?? (o.quick ? 1 : 8),
    lastCycleExact: o.lastCycleExact,
    simplifyPerEpoch: o.simplifyPerEpoch,
    alternate: o.alternate,
    resetOptimizer: o.resetOptimizer,
    init: o.init,
    clip: o.clip,
    maxUnits: o.maxUnits,
    maxUnitsFromCycle: o.maxUnitsFromCycle - 1,
    lastCycleLr: o.lastCycleLr,
    finalLr: o.finalLr,
    distill:
      o.distillWeight === undefined
        ? undefined
        : { weight: o.distillWeight, temperature: o.distillTemperature, teacher: o.distillTeacher },
    distilledBaseline: o.distilledBaseline,
    batchSize,
    learningRate: o.lr,
    dropout: o.dropout,
    seeds,
    inferenceBackends: o.inferenceBackends ?? [o.backend],
    inferenceBatches: [1, 256],
    inferenceReps: o.quick ? Math.min(o.inferenceReps, 10) : o.inferenceReps,
    progress,
  });
  const result = resultHeader(
    'simp',
    o,
    { epochs: figures.runs[0].cycles[figures.runs[0].cycles.length - 1].epochs, batchSize, dataSource: data.source },
    {
      k: o.k,
      hidden: o.hidden,
      threshold: o.threshold,
      minUnits: o.minUnits,
      cycles: o.cycles,
      epochsPerCycle,
      lastCycleEpochs: figures.lastCycleEpochs,
      lastCycleExact: o.lastCycleExact,
      simplifyPerEpoch: o.simplifyPerEpoch ?? null,
      alternate: o.alternate,
      resetOptimizer: o.resetOptimizer,
      init: o.init,
      clip: o.clip ?? null,
      maxUnits: o.maxUnits ?? null,
      maxUnitsFromCycle: o.maxUnitsFromCycle,
      lastCycleLr: o.lastCycleLr ?? null,
      finalLr: o.finalLr ?? null,
      distillWeight: o.distillWeight ?? null,
      distillTemperature: o.distillWeight === undefined ? null : o.distillTemperature,
      distillTeacher: o.distillWeight === undefined ? null : o.distillTeacher,
      distilledBaseline: o.distilledBaseline,
      seeds,
      mode: o.mode,
      lr: o.lr,
      dropout: o.dropout,
      inferenceReps: o.inferenceReps,
      inferenceBackends: o.inferenceBackends ?? [o.backend],
      trainDigits: data.train.n,
      testDigits: data.test.n,
    },
  );
  result.simp = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface CiCommandOptions extends CommonOptions {
  thresholds: string;
  skipIaf: boolean;
}

export async function ciCommand(o: CiCommandOptions): Promise<number> {
  // Read the thresholds first: a bad file should fail before minutes of measuring.
  const thresholds = thresholdsFor(readThresholds(o.thresholds), o.backend, o.thresholds);
  const { progress, data } = await prepare({ ...o, quick: false }, { nTrainQuick: 0, nTestQuick: 0 });
  const run = await runCi(data!, { seed: o.seed, progress, skipIaf: o.skipIaf });
  // With --skip-iaf the IAF bounds are not applicable (rather than failing as not measured).
  const checks = checkThresholds(run.figures, thresholds).filter((c) => !(o.skipIaf && c.figure.startsWith('iaf.')));
  const failures = describeFailures(checks);
  const result = resultHeader(
    'ci',
    { ...o, quick: true },
    { epochs: CI_SETTINGS.mnist.epochs, batchSize: CI_SETTINGS.mnist.batchSize, dataSource: data!.source },
    { thresholds: o.thresholds, skipIaf: o.skipIaf },
  );
  result.kernels = run.kernels;
  result.mnist = run.mnist;
  if (run.iaf) result.iaf = run.iaf;
  result.ci = { thresholdsFile: o.thresholds, figures: run.figures, checks, passed: failures.length === 0 };
  printSummary(result);
  await finish(result, o, out);
  if (failures.length > 0) {
    process.stderr.write(`ci FAILED (${o.backend}): ${failures.length} figure(s) outside their thresholds:\n`);
    for (const f of failures) process.stderr.write(`  ${f}\n`);
    return 1;
  }
  out(`ci passed (${o.backend}): ${checks.length} checks`);
  return 0;
}

export interface ModelCommandOptions extends CommonOptions {
  model: string;
  k: number;
  mode: MePropMode;
  outputK?: number;
  overrides?: Record<string, unknown>;
  optimizers: ModelOptimizerName[];
  steps: number;
  warmup: number;
  data?: string;
  loss?: ModelLoss;
  minSpeedup?: number;
}

export async function modelCommand(o: ModelCommandOptions): Promise<number> {
  const { progress } = await prepare({ ...o, quick: false }, null);
  const batchSize = o.batchSize ?? 32;
  const { model, kind } = await loadUserModel(o.model);
  progress.log(`model: ${o.model} (${kind}), ${modelSignature(model)}`);
  const io = describeModelIo(model, o.loss);
  // Enough distinct batches that no step reuses the previous one's data.
  const batches = o.data ? readJsonlBatches(o.data, io, batchSize, 16) : syntheticBatches(io, batchSize, 4, o.seed);
  progress.log(`data: ${o.data ?? 'synthetic'}, ${batches.length} batch(es) of ${batchSize}; loss ${io.losses.join(', ')}`);
  const result = resultHeader(
    'model',
    { ...o, quick: false },
    { epochs: 0, batchSize, dataSource: o.data ?? 'synthetic' },
    {
      model: o.model,
      modelSignature: modelSignature(model),
      k: o.k,
      mode: o.mode,
      outputK: o.outputK ?? null,
      overrides: o.overrides ? JSON.stringify(o.overrides) : null,
      optimizers: o.optimizers,
      steps: o.steps,
      warmup: o.warmup,
      data: o.data ?? null,
      loss: io.losses.join(','),
      minSpeedup: o.minSpeedup ?? null,
    },
  );
  const overrides = o.overrides as ModelBenchOptions['overrides'];
  return measureModel(
    result,
    model,
    io,
    batches,
    { ...o, overrides, source: o.model, batchSize, dataLabel: o.data ?? 'synthetic', progress },
    o,
  );
}

/** Runs the model benchmark, prints and writes the result; exit 1 when a check failed. Disposes model and batches. */
async function measureModel(
  result: BenchResult,
  model: tf.LayersModel,
  io: ModelIo,
  batches: ModelBatch[],
  bench: ModelBenchOptions,
  o: CommonOptions,
): Promise<number> {
  try {
    result.model = await runModelBench(model, io, batches, bench);
  } finally {
    for (const b of batches) tf.dispose([...b.xs, ...b.ys]);
    model.dispose();
  }
  printSummary(result);
  await finish(result, o, out);
  if (!result.model.passed) {
    process.stderr.write(`${result.command} FAILED: ${result.model.failures.length} check(s):\n`);
    for (const f of result.model.failures) process.stderr.write(`  ${f}\n`);
    return 1;
  }
  return 0;
}

export interface TrainStepCommandOptions extends CommonOptions {
  k: number;
  mode: MePropMode;
  hidden: number[];
  optimizers: ModelOptimizerName[];
  steps: number;
  warmup: number;
  tfjsForward: boolean;
}

/** `train-step`: the model benchmark on the MNIST MLP (784-500-500-10, relu, softmax; Glorot), synthetic data. */
export async function trainStepCommand(o: TrainStepCommandOptions): Promise<number> {
  const { progress } = await prepare({ ...o, quick: false }, null);
  if (o.tfjsForward && tf.getKernel(MePropMatMul, o.backend) !== undefined) {
    // @meprop/core registers its default again on first use (tfjs's own BatchMatMul kernel), so the meProp
    // layers' forward is tf.matMul's: what is left of the speed-up is meProp's backward.
    tf.unregisterKernel(MePropMatMul, o.backend);
    progress.log("meProp layers use tfjs's own forward matmul (--tfjs-forward)");
  }
  if (o.tfjsForward && tf.getKernel(MePropDenseForward, o.backend) !== undefined) {
    // On tensorflow the meProp Dense layers run product, bias and relu as one kernel: back to tfjs's ops.
    tf.unregisterKernel(MePropDenseForward, o.backend);
  }
  const batchSize = o.batchSize ?? 32;
  const model = buildMlp(o.hidden, o.seed);
  const io = describeModelIo(model, 'categoricalCrossentropy');
  const batches = syntheticBatches(io, batchSize, 4, o.seed);
  const source = `MNIST MLP 784-${o.hidden.join('-')}-10`;
  const result = resultHeader(
    'train-step',
    { ...o, quick: false },
    { epochs: 0, batchSize, dataSource: 'synthetic' },
    {
      k: o.k,
      mode: o.mode,
      hidden: o.hidden,
      optimizers: o.optimizers,
      steps: o.steps,
      warmup: o.warmup,
      tfjsForward: o.tfjsForward,
    },
  );
  return measureModel(result, model, io, batches, { ...o, source, batchSize, dataLabel: 'synthetic', progress }, o);
}

export interface CnnCommandOptions extends CommonOptions {
  k: number;
  methods: Array<'per-example' | 'unified' | 'random' | 'per-sample'>;
  overrides?: Record<string, unknown>;
  variants?: Record<string, unknown>;
  optimizer: 'adam' | 'sparse-adam';
  trainSize?: number;
  testSize?: number;
  lr: number;
}

/** --variants of `cnn`: { label: { mode, k?, overrides? } } checked, as the experiment's variant list. */
export function cnnVariants(json: Record<string, unknown> | undefined): CnnVariant[] {
  if (json === undefined) return [];
  return Object.entries(json).map(([label, v]) => {
    const where = `--variants '${label}'`;
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new Error(`${where} must be an object like {"mode":"unified","k":0.25}, got ${JSON.stringify(v)}`);
    const { mode, k, overrides, ...rest } = v as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new Error(`${where}: unknown field '${extra[0]}' (expected mode, k, overrides)`);
    if (label === 'plain') throw new Error(`--variants: the label 'plain' is taken by the plain model`);
    if (mode !== 'unified' && mode !== 'per-example' && mode !== 'random' && mode !== 'per-sample')
      throw new Error(`${where}.mode must be 'unified', 'per-example', 'random' or 'per-sample', got ${JSON.stringify(mode)}`);
    if (k !== undefined && !(typeof k === 'number' && Number.isFinite(k) && k > 0))
      throw new Error(`${where}.k must be a positive number (a count, or a fraction in (0, 1)), got ${JSON.stringify(k)}`);
    if (overrides !== undefined && (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)))
      throw new Error(`${where}.overrides must be an object like {"conv1":false}, got ${JSON.stringify(overrides)}`);
    return {
      label,
      mode,
      ...(k !== undefined ? { k } : {}),
      ...(overrides !== undefined ? { overrides: overrides as CnnOverrides } : {}),
    };
  });
}

/** The convnet experiment (experiments/cnn.ts): prints a table per epoch and writes <out>/cnn-<backend>.json. */
export async function cnnCommand(o: CnnCommandOptions): Promise<number> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { runCnnExperiment } = require('../experiments/cnn') as typeof import('../experiments/cnn');
  const { subsetMnist } = require('../data/subset') as typeof import('../data/subset');
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const os = require('os') as typeof import('os');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { progress, data: all } = await prepare({ ...o, quick: false }, { nTrainQuick: 0, nTestQuick: 0 });
  const nTrain = o.trainSize ?? (o.quick ? 256 : 2048);
  const nTest = o.testSize ?? (o.quick ? 500 : 1000);
  const variants = cnnVariants(o.variants);
  const overrides = o.overrides as CnnOverrides | undefined;
  const data = subsetMnist(all!, nTrain, nTest);
  const epochs = o.epochs ?? 3;
  const batchSize = o.batchSize ?? 64;
  progress.log(
    `cnn: ${data.source}; ${epochs} epochs, batch ${batchSize}, k ${o.k}, methods plain,${o.methods.join(',')}` +
      (overrides ? `, overrides ${JSON.stringify(overrides)}` : '') +
      (variants.length > 0 ? `, variants ${variants.map((v) => v.label).join(',')}` : ''),
  );
  const figures = await runCnnExperiment(data, {
    epochs,
    batchSize,
    seed: o.seed,
    k: o.k,
    methods: ['plain', ...o.methods],
    overrides,
    variants,
    optimizer: o.optimizer,
    learningRate: o.lr,
    log: (line) => progress.log(line),
  });
  const w = Math.max(12, ...figures.map((f) => f.method.length));
  out(`\n${'method'.padEnd(w)} epoch   step ms   step ×   cpu ms    cpu ×   test acc   train loss`);
  for (const f of figures) {
    out(
      `${f.method.padEnd(w)} ${String(f.epoch).padStart(5)} ${f.stepMs.toFixed(1).padStart(9)} ${f.speedup.toFixed(2).padStart(8)} ` +
        `${f.stepCpuMs.toFixed(1).padStart(8)} ${f.cpuSpeedup.toFixed(2).padStart(8)} ` +
        `${(100 * f.testAccuracy).toFixed(2).padStart(9)}% ${f.trainLoss.toFixed(4).padStart(12)}`,
    );
  }
  fs.mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `cnn-${o.backend}.json`);
  const doc = {
    command: 'cnn',
    config: {
      backend: o.backend,
      seed: o.seed,
      epochs,
      batchSize,
      k: o.k,
      methods: ['plain', ...o.methods],
      overrides: overrides ?? null,
      variants,
      optimizer: o.optimizer,
      lr: o.lr,
      dataSource: data.source,
    },
    environment: { node: process.version, loadavg: os.loadavg() },
    epochs: figures,
  };
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  out(`wrote ${file}`);
  return 0;
}
