import * as tf from '@tensorflow/tfjs';
import { mePropify } from '@meprop/layers';
import { loadMnistPackage } from '../data/load_mnist_package';
import { subsetMnist } from '../data/subset';
import { cnnVariants } from '../cli/run_commands';
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
    expect(figures[0].cpuSpeedup).toBe(1);
    for (const f of figures) {
      expect(Number.isFinite(f.stepMs) && f.stepMs > 0).toBe(true);
      expect(Number.isFinite(f.stepCpuMs) && f.stepCpuMs >= 0).toBe(true);
      expect(f.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(f.trainLoss)).toBe(true);
    }
    await tf.setBackend('cpu');
  });

  it('variants: labelled copies with their own k and overrides, sparse-adam for meProp, no leaked tensors', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    const data = subsetMnist(loadMnistPackage(), 16, 10);
    const before = tf.memory().numTensors;
    const variants = cnnVariants({
      'first-exact': { mode: 'unified', overrides: { conv1: false } },
      half: { mode: 'per-example', k: 0.5 },
    });
    expect(variants).toEqual([
      { label: 'first-exact', mode: 'unified', overrides: { conv1: false } },
      { label: 'half', mode: 'per-example', k: 0.5 },
    ]);
    const figures = await runCnnExperiment(data, {
      epochs: 1,
      batchSize: 8,
      seed: 3,
      k: 0.125,
      methods: ['plain'],
      variants,
      optimizer: 'sparse-adam',
      learningRate: 1e-3,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(figures.map((f) => f.method)).toEqual(['plain', 'first-exact', 'half']);
    for (const f of figures) expect(Number.isFinite(f.trainLoss)).toBe(true);
    await tf.setBackend('cpu');
  });

  it('--variants: bad entries throw naming the variant and the field', () => {
    expect(() => cnnVariants({ a: { mode: 'dense' } })).toThrow(/--variants 'a'.mode must be .*"dense"/);
    expect(() => cnnVariants({ a: { mode: 'unified', k: -1 } })).toThrow(/--variants 'a'.k must be a positive number.*-1/);
    expect(() => cnnVariants({ a: { mode: 'unified', kk: 2 } })).toThrow(/unknown field 'kk'/);
    expect(() => cnnVariants({ a: 3 })).toThrow(/--variants 'a' must be an object/);
    expect(() => cnnVariants({ plain: { mode: 'unified' } })).toThrow(/'plain' is taken/);
    expect(() => cnnVariants({ a: { mode: 'unified', overrides: [1] } })).toThrow(/--variants 'a'.overrides must be an object/);
  });
});
