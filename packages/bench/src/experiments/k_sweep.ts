// `k-sweep`: the paper's Figure 4, test accuracy against the kept fraction k/h, top-k against random-k
// (Adam, the MNIST MLP). The plain run (every gradient kept) is the reference line.
import type { MnistData } from '../data/types';
import type { KSweepFigures, KSweepPoint, OptimizerName } from '../results/schema';
import type { Progress } from '../util/progress';
import { trainMlp } from './train_mlp';
import { makeVariant, PAPER_LEARNING_RATES } from './variants';

export const DEFAULT_K_FRACTIONS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64];
export const QUICK_K_FRACTIONS = [0.02, 0.08, 0.32];

export interface KSweepOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  hidden: number;
  fractions: number[];
  optimizer: OptimizerName;
  learningRate?: number;
  progress: Progress;
}

async function accuracyOf(
  data: MnistData,
  method: 'plain' | 'per-example' | 'random',
  k: number,
  opts: KSweepOptions,
  label: string,
): Promise<number> {
  const lr = opts.learningRate ?? PAPER_LEARNING_RATES[opts.optimizer];
  const task = opts.progress.task(label);
  const v = makeVariant(method, opts.optimizer, { hidden: [opts.hidden, opts.hidden], seed: opts.seed, k, learningRate: lr });
  try {
    const res = await trainMlp(v.model, v.optimizer, data, {
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      seed: opts.seed,
      warmupSteps: 0,
      onStep: (f) => task.update(f),
    });
    task.done(`acc ${(res.testAccuracy * 100).toFixed(2)}%`);
    return res.testAccuracy;
  } finally {
    v.dispose();
  }
}

export async function runKSweep(data: MnistData, opts: KSweepOptions): Promise<KSweepFigures> {
  const baselineAccuracy = await accuracyOf(data, 'plain', opts.hidden, opts, 'k-sweep plain');
  const points: KSweepPoint[] = [];
  for (const f of opts.fractions) {
    const k = Math.max(1, Math.round(f * opts.hidden));
    for (const selection of ['top-k', 'random-k'] as const) {
      const method = selection === 'top-k' ? 'per-example' : 'random';
      const acc = await accuracyOf(data, method, k, opts, `k-sweep ${selection} k=${k}`);
      points.push({ selection, k, keptFraction: k / opts.hidden, testAccuracy: acc });
    }
  }
  return { hidden: opts.hidden, optimizer: opts.optimizer, baselineAccuracy, points };
}
