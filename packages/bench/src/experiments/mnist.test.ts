import * as tf from '@tensorflow/tfjs';
import { loadMnistPackage } from '../data/load_mnist_package';
import { subsetMnist } from '../data/subset';
import type { MnistFigures } from '../results/schema';
import { silentProgress } from '../util/progress';
import { runMnistExperiment } from './mnist';

describe('runMnistExperiment with several seeds (paper protocol, tiny)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reports the mean over seeds with each seed kept, writes partial figures after each seed, and leaks nothing', async () => {
    const data = subsetMnist(loadMnistPackage(), 200, 100);
    const partial: Array<[number, MnistFigures]> = [];
    const before = tf.memory().numTensors;
    const opts = {
      epochs: 2,
      batchSize: 20,
      seed: 5,
      k: 4,
      hidden: [16, 16],
      optimizers: ['adam' as const],
      methods: ['unified' as const, 'random' as const],
      protocol: 'paper' as const,
      sparseOptimizers: false,
      warmupSteps: 1,
      progress: silentProgress(),
    };
    const figures = await runMnistExperiment(data, {
      ...opts,
      seeds: 2,
      onSeedDone: async (f, done) => void partial.push([done, f]),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(figures.protocol).toBe('paper');
    expect(figures.seeds).toBe(2);
    expect(partial.map(([done, f]) => [done, f.seeds])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(figures.runs.map((r) => r.method)).toEqual(['plain', 'unified', 'random']);
    // Each seed on its own, as single-seed runs: the aggregate is their mean.
    const one = async (seed: number) => (await runMnistExperiment(data, { ...opts, seed, seeds: 1 })).runs;
    const [s5, s6] = [await one(5), await one(6)];
    figures.runs.forEach((r, i) => {
      expect(r.seedAccuracies).toEqual([s5[i].testAccuracy, s6[i].testAccuracy]);
      expect(r.testAccuracy).toBeCloseTo((s5[i].testAccuracy + s6[i].testAccuracy) / 2, 12);
      expect(r.accuracyCurve[0]).toBeCloseTo((s5[i].accuracyCurve[0] + s6[i].accuracyCurve[0]) / 2, 12);
    });
    expect(figures.runs[1].speedup?.step).toBeCloseTo(figures.runs[0].timing.stepMs / figures.runs[1].timing.stepMs, 10);
  }, 240000);
});
