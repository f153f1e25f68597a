// The actions behind the experiment commands. Loaded lazily by cli.ts, so `--help`, `compare` and option
// errors do not pay for loading tfjs and the experiment packages.
import { DEFAULT_K_FRACTIONS, QUICK_K_FRACTIONS, runKSweep } from '../experiments/k_sweep';
import { DEFAULT_KERNEL_SHAPES, QUICK_KERNEL_SHAPES, runKernelBench, type KernelShape } from '../experiments/kernels';
import { runMnistExperiment } from '../experiments/mnist';
import { runIaf } from '../experiments/iaf_runner';
import { CI_SETTINGS, runCi } from '../experiments/ci_run';
import { checkThresholds, describeFailures } from '../ci/check_thresholds';
import { readThresholds, thresholdsFor } from '../ci/thresholds';
import type { IafPosteriorName, KernelMode, MnistMethod, OptimizerName } from '../results/schema';
import { resultSections } from '../report/result_tables';
import { tableToText } from '../report/table';
import type { BenchResult } from '../results/schema';
import { finish, prepare, resultHeader, type CommonOptions } from './common';
import type { ShapeSpec } from './parse_options';

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
  k: number;
  hidden: number[];
  optimizers: OptimizerName[];
  methods: MnistMethod[];
  lrAdam?: number;
  lrAdagrad?: number;
}

export async function mnistCommand(o: MnistCommandOptions): Promise<number> {
  const { progress, data } = await prepare(o, { nTrainQuick: 1000, nTestQuick: 500 });
  const epochs = o.epochs ?? 1;
  const batchSize = o.batchSize ?? 10;
  const figures = await runMnistExperiment(data!, {
    epochs,
    batchSize,
    seed: o.seed,
    k: o.k,
    hidden: o.hidden,
    optimizers: o.optimizers,
    methods: o.methods,
    learningRates: { adam: o.lrAdam, adagrad: o.lrAdagrad },
    progress,
  });
  const result = resultHeader('mnist', o, { epochs, batchSize, dataSource: data!.source }, {
    k: o.k,
    hidden: o.hidden,
    optimizers: o.optimizers,
    methods: o.methods,
    lrAdam: o.lrAdam ?? null,
    lrAdagrad: o.lrAdagrad ?? null,
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
  const figures = await runKSweep(data!, { epochs, batchSize, seed: o.seed, hidden: o.hidden, fractions, optimizer: o.optimizer, progress });
  const result = resultHeader('k-sweep', o, { epochs, batchSize, dataSource: data!.source }, {
    fractions,
    hidden: o.hidden,
    optimizer: o.optimizer,
  });
  result.kSweep = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface KernelsCommandOptions extends CommonOptions {
  shapes?: ShapeSpec[];
  modes: KernelMode[];
  reps?: number;
  warmup?: number;
}

export async function kernelsCommand(o: KernelsCommandOptions): Promise<number> {
  const { progress } = await prepare(o, null);
  const shapes: KernelShape[] = o.shapes
    ? o.shapes.map((s) => ({ group: 'custom', ...s }))
    : o.quick
      ? QUICK_KERNEL_SHAPES
      : DEFAULT_KERNEL_SHAPES;
  const reps = o.reps ?? (o.quick ? 7 : 15);
  const warmup = o.warmup ?? (o.quick ? 2 : 3);
  const figures = await runKernelBench({ shapes, modes: o.modes, reps, warmup, seed: o.seed, progress });
  const result = resultHeader('kernels', o, { epochs: 0, batchSize: 0, dataSource: 'synthetic tensors' }, {
    shapes: shapes.map((s) => `${s.batch}x${s.inDim}x${s.outDim}:${s.k}`),
    modes: o.modes,
    reps,
    warmup,
  });
  result.kernels = figures;
  printSummary(result);
  await finish(result, o, out);
  return 0;
}

export interface IafCommandOptions extends CommonOptions {
  posteriors: IafPosteriorName[];
  latentSize?: number;
  iwSamples?: number;
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
    quick: o.quick,
    onProgress: (msg, f) => task.update(f, msg),
  });
  task.done();
  const result = resultHeader('iaf', o, { epochs, batchSize: o.batchSize ?? 0, dataSource: data!.source }, {
    posteriors: o.posteriors,
    latentSize: o.latentSize ?? null,
    iwSamples: o.iwSamples ?? null,
  });
  result.iaf = figures;
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

export interface CnnCommandOptions extends CommonOptions {
  k: number;
  methods: Array<'per-example' | 'unified' | 'random'>;
  trainSize?: number;
  testSize?: number;
  lr: number;
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
  const data = subsetMnist(all!, nTrain, nTest);
  const epochs = o.epochs ?? 3;
  const batchSize = o.batchSize ?? 64;
  progress.log(`cnn: ${data.source}; ${epochs} epochs, batch ${batchSize}, k ${o.k}, methods plain,${o.methods.join(',')}`);
  const figures = await runCnnExperiment(data, {
    epochs,
    batchSize,
    seed: o.seed,
    k: o.k,
    methods: ['plain', ...o.methods],
    learningRate: o.lr,
    log: (line) => progress.log(line),
  });
  out('\nmethod       epoch   step ms   step ×   test acc   train loss');
  for (const f of figures) {
    out(
      `${f.method.padEnd(12)} ${String(f.epoch).padStart(5)} ${f.stepMs.toFixed(1).padStart(9)} ${f.speedup.toFixed(2).padStart(8)} ` +
        `${(100 * f.testAccuracy).toFixed(2).padStart(9)}% ${f.trainLoss.toFixed(4).padStart(12)}`,
    );
  }
  fs.mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `cnn-${o.backend}.json`);
  const doc = {
    command: 'cnn',
    config: { backend: o.backend, seed: o.seed, epochs, batchSize, k: o.k, methods: ['plain', ...o.methods], lr: o.lr, dataSource: data.source },
    environment: { node: process.version, loadavg: os.loadavg() },
    epochs: figures,
  };
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  out(`wrote ${file}`);
  return 0;
}
