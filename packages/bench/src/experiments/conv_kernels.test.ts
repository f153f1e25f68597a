import * as tf from '@tensorflow/tfjs';
import { convShapeLabel, parseConvShape, runConvKernelBench } from './conv_kernels';

describe('conv-kernels (structure only, no timing asserted)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reports plain and one figure per mode, and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const shape = { batch: 2, height: 6, width: 5, inChannels: 3, outChannels: 8, filter: 3, k: 2 };
    const figures = await runConvKernelBench({
      shape,
      modes: ['unified', 'per-example'],
      pad: 'same',
      warmup: 1,
      reps: 2,
      seed: 1,
      readBack: true,
    });
    expect(figures.map((f) => f.method)).toEqual(['plain', 'unified', 'per-example']);
    expect(figures[0].speedup).toBe(1);
    expect(figures.every((f) => f.ms > 0 && Number.isFinite(f.speedup))).toBe(true);
    expect(figures[0].cpuSpeedup).toBe(1);
    expect(figures.every((f) => f.cpuMs >= 0)).toBe(true);
    expect(convShapeLabel(shape)).toBe('2x6x5x3->8 3x3 k=2');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a malformed --shape and a k above the output channels, naming the value', async () => {
    expect(parseConvShape('32x28x28x32x64')).toEqual({ batch: 32, height: 28, width: 28, inChannels: 32, outChannels: 64 });
    expect(() => parseConvShape('32x28x28')).toThrow(/--shape.*'32x28x28'/);
    await expect(
      runConvKernelBench({
        shape: { batch: 1, height: 4, width: 4, inChannels: 1, outChannels: 2, filter: 3, k: 3 },
        modes: ['unified'],
        pad: 'valid',
        warmup: 0,
        reps: 1,
        seed: 1,
        readBack: false,
      }),
    ).rejects.toThrow(/--k 3 exceeds the 2 output channels/);
  });
});
