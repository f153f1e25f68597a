// `ci`: a combined quick run whose figures are checked against thresholds/ci.json.
//   1. kernels: backward ratio at 32x500 @ 500x500, k=20, per-example and unified;
//   2. the MLP training-step ratio (meProp unified k=20 + sparse Adam vs plain tfjs Adam, batch 32);
//   3. a short MNIST accuracy run, plain Adam vs meProp (unified k=20 + sparse Adam, the configuration of 2), and
//      their gap. (Per-example top-k catches up only over many more steps than a CI run can afford.)
//   4. a quick IAF run: the best IAF posterior's test ELBO minus the diagonal one's.
//   5. on wasm and tensorflow: the unified conv backward ratio of issue 13's layer (batch 32, 28x28, 32 -> 64
//      channels, 3x3, k = 8). Not on cpu: tfjs-backend-cpu's plain conv backward takes minutes there.
import * as tf from '@tensorflow/tfjs';
import type { MnistData } from '../data/types';
import { subsetMnist } from '../data/subset';
import type { IafFigures, KernelFigures, Metric, MnistFigures } from '../results/schema';
import type { Progress } from '../util/progress';
import { DEFAULT_CONV_SHAPE, runConvKernelBench } from './conv_kernels';
import { benchKernelShape, KERNEL_METHOD, shapeLabel } from './kernels';
import { runIaf } from './iaf_runner';
import { measureStepRatio } from './mlp_step_ratio';
import { runMnistExperiment } from './mnist';

export const CI_SETTINGS = {
  kernelShape: { group: 'mnist-mlp', batch: 32, inDim: 500, outDim: 500, k: 20 },
  kernelReps: { warmup: 3, reps: 15 },
  step: { batchSize: 32, k: 20, hidden: [500, 500], warmup: 3, reps: 12 },
  mnist: { nTrain: 3000, nTest: 1000, epochs: 2, batchSize: 32, k: 20 },
  iaf: { nTrain: 3000, nTest: 500, epochs: 2, posteriors: ['diagonal', 'iaf2'] as const },
  conv: { shape: DEFAULT_CONV_SHAPE, warmup: 2, reps: 9, backends: ['wasm', 'tensorflow'] as readonly string[] },
};

/** The name of the conv figure `ci` reports: `conv.32x28x28x32-64.3x3.k8.unified.backwardSpeedup`. */
export function convFigureId(): string {
  const c = CI_SETTINGS.conv.shape;
  return `conv.${c.batch}x${c.height}x${c.width}x${c.inChannels}-${c.outChannels}.${c.filter}x${c.filter}.k${c.k}.unified`;
}

export interface CiRunOptions {
  seed: number;
  progress: Progress;
  /** Skip the IAF part (e.g. while experiments/iaf is not available). */
  skipIaf: boolean;
}

export interface CiRunOutput {
  figures: Metric[];
  kernels: KernelFigures;
  mnist: MnistFigures;
  iaf?: IafFigures;
}

export async function runCi(data: MnistData, opts: CiRunOptions): Promise<CiRunOutput> {
  const figures: Metric[] = [];
  const s = CI_SETTINGS;

  const kTask = opts.progress.task('ci: kernels');
  const cases = await benchKernelShape(s.kernelShape, { modes: ['per-example', 'unified'], seed: opts.seed, ...s.kernelReps });
  kTask.done();
  for (const c of cases) {
    const id = `kernels.${shapeLabel(c)}.${c.mode}`;
    figures.push({ name: `${id}.backwardSpeedup`, value: c.speedup ?? NaN, better: 'higher', unit: 'x' });
    figures.push({ name: `${id}.mePropMs`, value: c.mePropMs, better: 'lower', unit: 'ms' });
  }
  figures.push({ name: `kernels.${shapeLabel(s.kernelShape)}.plainMs`, value: cases[0].plainMs, better: 'lower', unit: 'ms' });

  const sTask = opts.progress.task('ci: MLP step ratio');
  const step = await measureStepRatio(data, { ...s.step, seed: opts.seed });
  sTask.done(`${step.speedup.toFixed(2)}x`);
  const stepId = `mlp.step.unified.k${s.step.k}.sparseAdam`;
  figures.push({ name: `${stepId}.speedup`, value: step.speedup, better: 'higher', unit: 'x' });
  figures.push({ name: `${stepId}.plainMs`, value: step.plainMs, better: 'lower', unit: 'ms' });
  figures.push({ name: `${stepId}.mePropMs`, value: step.mePropMs, better: 'lower', unit: 'ms' });

  if (s.conv.backends.includes(tf.getBackend())) {
    const cTask = opts.progress.task('ci: conv backward ratio');
    const [plain, unified] = await runConvKernelBench({
      shape: s.conv.shape,
      modes: ['unified'],
      pad: 'valid',
      warmup: s.conv.warmup,
      reps: s.conv.reps,
      seed: opts.seed,
      readBack: false,
    });
    cTask.done(`${unified.speedup.toFixed(2)}x`);
    const id = convFigureId();
    figures.push({ name: `${id}.backwardSpeedup`, value: unified.speedup, better: 'higher', unit: 'x' });
    figures.push({ name: `${id}.mePropMs`, value: unified.ms, better: 'lower', unit: 'ms' });
    figures.push({ name: `${id}.plainMs`, value: plain.ms, better: 'lower', unit: 'ms' });
  }

  const small = subsetMnist(data, s.mnist.nTrain, s.mnist.nTest);
  const mnist = await runMnistExperiment(small, {
    epochs: s.mnist.epochs,
    batchSize: s.mnist.batchSize,
    seed: opts.seed,
    k: s.mnist.k,
    hidden: [500, 500],
    optimizers: ['adam'],
    methods: ['plain', 'unified'],
    progress: opts.progress,
  });
  const plainAcc = mnist.runs.find((r) => r.method === 'plain')?.testAccuracy ?? NaN;
  const mePropAcc = mnist.runs.find((r) => r.method === 'unified')?.testAccuracy ?? NaN;
  figures.push({ name: 'mnist.plain.testAccuracy', value: plainAcc, better: 'higher', unit: 'fraction' });
  figures.push({ name: 'mnist.meprop.testAccuracy', value: mePropAcc, better: 'higher', unit: 'fraction' });
  figures.push({ name: 'mnist.accuracyGap', value: plainAcc - mePropAcc, better: 'lower', unit: 'fraction' });

  let iaf: IafFigures | undefined;
  if (!opts.skipIaf) {
    const iTask = opts.progress.task('ci: IAF');
    iaf = await runIaf(subsetMnist(data, s.iaf.nTrain, s.iaf.nTest), {
      epochs: s.iaf.epochs,
      seed: opts.seed,
      posteriors: [...s.iaf.posteriors],
      quick: true,
      onProgress: (msg, f) => iTask.update(f, msg),
    });
    iTask.done();
    const diag = iaf.runs.find((r) => r.posterior === 'diagonal')?.testElbo ?? NaN;
    const bestIaf = Math.max(...iaf.runs.filter((r) => r.posterior !== 'diagonal').map((r) => r.testElbo));
    for (const r of iaf.runs)
      figures.push({ name: `iaf.${r.posterior}.testElbo`, value: r.testElbo, better: 'higher', unit: 'nats' });
    figures.push({ name: 'iaf.elboGain', value: bestIaf - diag, better: 'higher', unit: 'nats' });
  }
  return { figures, kernels: { method: KERNEL_METHOD, cases }, mnist, iaf };
}
