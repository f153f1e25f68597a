import * as tf from '@tensorflow/tfjs';
import { benchKernelShape, shapeLabel } from './kernels';

describe('benchKernelShape (structure only, no timing asserted)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reports a case per mode with the ideal ratio out/k and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const cases = await benchKernelShape(
      { group: 'test', batch: 4, inDim: 16, outDim: 40, k: 4 },
      { modes: ['per-example', 'unified'], warmup: 1, reps: 2, seed: 1 },
    );
    expect(cases.map((c) => c.mode)).toEqual(['per-example', 'unified']);
    expect(cases[0].label).toBe(shapeLabel({ batch: 4, inDim: 16, outDim: 40, k: 4 }));
    expect(cases[0].label).toBe('4x16x40.k4');
    expect(cases[0].idealSpeedup).toBe(10);
    expect(cases[0].plainMs).toBe(cases[1].plainMs);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with slices and forward, adds those rows, each compared with the matching plain timing, and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const cases = await benchKernelShape(
      { group: 'test', batch: 4, inDim: 16, outDim: 40, k: 4 },
      { modes: ['per-example', 'unified'], warmup: 1, reps: 2, seed: 1, slices: true, forward: true },
    );
    expect(cases.map((c) => `${c.mode} ${c.path}`)).toEqual([
      'per-example backward',
      'unified backward',
      'unified backward, dW slices',
      'per-example forward+backward',
      'unified forward+backward',
      'unified forward+backward, dW slices',
    ]);
    const backwardPlain = cases[0].plainMs;
    expect(cases.slice(0, 3).every((c) => c.plainMs === backwardPlain)).toBe(true);
    expect(cases.slice(3).every((c) => c.plainMs === cases[3].plainMs)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
