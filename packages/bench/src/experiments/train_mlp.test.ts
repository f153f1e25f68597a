import * as tf from '@tensorflow/tfjs';
import { loadMnistPackage } from '../data/load_mnist_package';
import { subsetMnist } from '../data/subset';
import { buildMlp } from './mlp';
import { trainMlp } from './train_mlp';

describe('trainMlp (plain tfjs, tiny)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('learns, times every phase and leaks no tensors', async () => {
    const data = subsetMnist(loadMnistPackage(), 600, 200);
    const model = buildMlp([32], 3);
    const opt = tf.train.adam(0.01);
    const before = tf.memory().numTensors;
    const res = await trainMlp(model, opt, data, { epochs: 2, batchSize: 20, seed: 1, warmupSteps: 2 });
    expect(res.accuracyCurve).toHaveLength(2);
    expect(res.testAccuracy).toBeGreaterThan(0.5);
    expect(res.timing.steps).toBe(60);
    expect(res.timing.timedSteps).toBe(58);
    for (const v of [
      res.timing.forwardMs,
      res.timing.backwardMs,
      res.timing.updateMs,
      res.timing.stepMs,
      res.timing.trainSeconds,
    ]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    // The optimizer's slots are the only new tensors (two Adam moments per variable, plus its step counters).
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(2 * model.trainableWeights.length + 4);
    opt.dispose();
    model.dispose();
  });

  it('starts from the same weights for the same seed', () => {
    const a = buildMlp([8], 5);
    const b = buildMlp([8], 5);
    const c = buildMlp([8], 6);
    expect(Array.from(a.getWeights()[0].dataSync())).toEqual(Array.from(b.getWeights()[0].dataSync()));
    expect(Array.from(a.getWeights()[0].dataSync())).not.toEqual(Array.from(c.getWeights()[0].dataSync()));
    [a, b, c].forEach((m) => m.dispose());
  });
});
