import * as tf from '@tensorflow/tfjs';
import { mePropify } from '@meprop/layers';
import { loadMnistPackage } from '../data/load_mnist_package';
import { subsetMnist } from '../data/subset';
import { buildConvnet, runCnnExperiment } from './cnn';

describe('cnn experiment (tiny)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("mePropify converts the convnet's four convs and the hidden Dense, leaves the output exact", () => {
    const model = buildConvnet(1);
    const { model: copy, report } = mePropify(model, { k: 0.125, mode: 'unified' });
    expect(report.converted.map((c) => c.name)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'dense']);
    expect(report.skipped.find((s) => s.name === 'output')?.reason).toMatch(/output layer/);
    [model, copy].forEach((m) => m.dispose());
  });

  it('one epoch of plain and unified on wasm: a figure per method, plain as the 1.00 reference, no leaked tensors', async () => {
    // wasm: its XNNPACK convolutions (and @meprop/core's backward kernels) keep this test to seconds; cpu's
    // conv backprops are scalar loops.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    const data = subsetMnist(loadMnistPackage(), 16, 10);
    const before = tf.memory().numTensors;
    const figures = await runCnnExperiment(data, {
      epochs: 1,
      batchSize: 8,
      seed: 2,
      k: 0.125,
      methods: ['plain', 'unified'],
      learningRate: 1e-3,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(figures.map((f) => f.method)).toEqual(['plain', 'unified']);
    expect(figures[0].speedup).toBe(1);
    for (const f of figures) {
      expect(Number.isFinite(f.stepMs) && f.stepMs > 0).toBe(true);
      expect(f.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(f.trainLoss)).toBe(true);
    }
    await tf.setBackend('cpu');
  });
});
