// meProp's conv gradients (Conv2D, tf.fused.conv2d, DepthwiseConv2dNative, conv1d) against tfjs's exact
// gradients at k >= channels and a brute-force reference (dy masked to its top-k, then tfjs's gradients) below.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import { FUSED_CONV2D_TAPE_NAME, MePropConfig, getMePropStats, resetMePropStats, withMeProp } from './index';
import { referenceMask, referencePerSampleMask } from './test-helpers/reference';

type Conv = (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

const data = (shape: number[], seed: number): tf.Tensor => tf.randomUniform(shape, -1, 1, 'float32', seed);

/** Gradients of sum(conv(x, w) * dy) with respect to x and w, inside a meProp scope when `config` is given. */
function grads(conv: Conv, x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor, config?: MePropConfig): tf.Tensor[] {
  const g = (): tf.Tensor[] => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, w]);
  return config === undefined ? g() : withMeProp(config, g);
}

/** dy with everything but the reference top-k channels (per position, per sample, or unified) zeroed. */
function maskDy(dy: tf.Tensor, k: number, mode: 'per-example' | 'unified' | 'per-sample'): tf.Tensor {
  const CO = dy.shape[dy.rank - 1];
  const P = dy.size / CO;
  const v = dy.dataSync() as Float32Array;
  if (mode === 'per-sample') {
    const B = dy.shape[0];
    return tf.mul(dy, tf.tensor(referencePerSampleMask(v, B, P / B, CO, k), dy.shape));
  }
  return tf.mul(dy, tf.tensor(referenceMask(v, P, CO, k, mode), dy.shape));
}

const convs: Array<[string, number[], number[], Conv]> = [
  ['conv2d 3x3 valid', [3, 8, 7, 4], [3, 3, 4, 9], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')],
  ['conv2d 3x3 same, stride 2', [2, 9, 8, 3], [3, 3, 3, 7], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')],
  ['conv2d 5x5 explicit pad 1', [2, 7, 7, 2], [5, 5, 2, 6], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 1)],
  ['conv1d kernel 3 same', [3, 11, 4], [3, 4, 8], (x, w) => tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, 'same')],
  [
    'fused conv2d linear',
    [2, 8, 8, 3],
    [3, 3, 3, 6],
    (x, w) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same' }),
  ],
];

describeEachBackend('meProp conv gradients', (backend) => {
  it('tfjs 4.22 tapes tf.fused.conv2d under the name meProp overrides', () => {
    expect(FUSED_CONV2D_TAPE_NAME).toBe('fusedConv2d__op');
    const names: string[] = [];
    const original = tf.getGradient(FUSED_CONV2D_TAPE_NAME);
    // A recording gradient in its place: if tfjs renamed the op scope, it would never be called.
    tf.registerGradient({
      kernelName: FUSED_CONV2D_TAPE_NAME,
      gradFunc: () => (names.push('called'), { 0: () => tf.zeros([1, 4, 4, 2]), 1: () => tf.zeros([3, 3, 2, 3]) }),
    });
    try {
      tf.tidy(() => {
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 1, pad: 'same' })),
        )([data([1, 4, 4, 2], 1), data([3, 3, 2, 3], 2)]);
      });
    } finally {
      if (original !== undefined) tf.registerGradient(original);
      else tf.unregisterGradient(FUSED_CONV2D_TAPE_NAME);
    }
    expect(names).toEqual(['called']);
  });

  // tfjs-node's own Conv2D takes only 'valid' and 'same' padding.
  describe.each(convs.filter((c) => backend !== 'tensorflow' || !c[0].includes('explicit')))(
    '%s',
    (_name, xShape, wShape, conv) => {
      it('k >= channels gives the exact gradients in every mode', () => {
        tf.tidy(() => {
          const x = data(xShape, 3);
          const w = data(wShape, 4);
          const dy = data(conv(x, w).shape, 5);
          const exact = grads(conv, x, w, dy);
          for (const mode of ['per-example', 'unified', 'random', 'per-sample'] as const) {
            const g = grads(conv, x, w, dy, { k: wShape[wShape.length - 1], mode });
            expectClose(g[0], exact[0], 1e-4);
            expectClose(g[1], exact[1], 1e-4);
          }
        });
      });

      it.each(['per-example', 'unified', 'per-sample'] as const)('%s, k = 2: equals the brute-force reference', (mode) => {
        tf.tidy(() => {
          const x = data(xShape, 6);
          const w = data(wShape, 7);
          const dy = data(conv(x, w).shape, 8);
          resetMePropStats();
          const g = grads(conv, x, w, dy, { k: 2, mode });
          expect(getMePropStats().backwardCalls).toBe(1);
          const ref = grads(conv, x, w, maskDy(dy, 2, mode));
          expectClose(g[0], ref[0], 1e-4);
          expectClose(g[1], ref[1], 1e-4);
          // The reference differs from the exact gradient, so the comparison is not vacuous.
          const exact = grads(conv, x, w, dy);
          expect(tf.max(tf.abs(tf.sub(exact[1], ref[1]))).dataSync()[0]).toBeGreaterThan(1e-2);
        });
      });

      it('random mode: a seed reproduces the gradient, and it differs from the exact one', () => {
        tf.tidy(() => {
          const x = data(xShape, 9);
          const w = data(wShape, 10);
          const dy = data(conv(x, w).shape, 11);
          const a = grads(conv, x, w, dy, { k: 2, mode: 'random', seed: 5 });
          const b = grads(conv, x, w, dy, { k: 2, mode: 'random', seed: 5 });
          expectClose(a[1], b[1], 0);
          const exact = grads(conv, x, w, dy);
          expect(tf.max(tf.abs(tf.sub(exact[1], a[1]))).dataSync()[0]).toBeGreaterThan(1e-2);
        });
      });
    },
  );

  // Larger k than the cases above: the sparse loops sum eight and four kept entries per pass, with a remainder,
  // and positions whose receptive field crosses the padding take the bounds-checked path.
  describe.each([
    ['valid', 9, 1],
    ['same', 5, 1],
    ['same', 12, 1],
    ['same', 10, 2],
  ] as const)('conv2d 3x3 %s, 13 channels, k = %d, stride %d', (pad, k, stride) => {
    const conv: Conv = (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
    it.each(['per-example', 'unified', 'per-sample'] as const)('%s equals the brute-force reference', (mode) => {
      tf.tidy(() => {
        const x = data([3, 11, 10, 5], 31);
        const w = data([3, 3, 5, 13], 32);
        const dy = data(conv(x, w).shape, 33);
        const g = grads(conv, x, w, dy, { k, mode });
        const ref = grads(conv, x, w, maskDy(dy, k, mode));
        expectClose(g[0], ref[0], 1e-4);
        expectClose(g[1], ref[1], 1e-4);
      });
    });
  });

  it('unified: a NaN in dy ranks its channel first and propagates; the other dropped channels stay zero', () => {
    tf.tidy(() => {
      const x = data([2, 6, 6, 3], 34);
      const w = data([3, 3, 3, 6], 35);
      const conv: Conv = (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid');
      // Channel 4 is the smallest by far, except for one NaN.
      const scale = tf.tensor1d([1, 1, 1, 1, 1e-3, 1]);
      const dyData = tf.mul(data([2, 4, 4, 6], 36), scale).dataSync() as Float32Array;
      dyData[1 * 6 + 4] = NaN;
      const dy = tf.tensor(dyData, [2, 4, 4, 6]);
      const g = grads(conv, x, w, dy, { k: 2, mode: 'unified' });
      const dW = g[1].dataSync();
      const perChannel = Array.from({ length: 6 }, (_, c) => {
        let nan = 0;
        let nonzero = 0;
        for (let i = c; i < dW.length; i += 6) {
          if (Number.isNaN(dW[i])) nan++;
          else if (dW[i] !== 0) nonzero++;
        }
        return { nan, nonzero };
      });
      expect(perChannel[4].nan).toBeGreaterThan(0);
      // Exactly one more channel is kept (finite, nonzero); the other four get an exact zero gradient.
      expect(perChannel.filter((c, i) => i !== 4 && c.nonzero > 0 && c.nan === 0).length).toBe(1);
      expect(perChannel.filter((c) => c.nan === 0 && c.nonzero === 0).length).toBe(4);
    });
  });

  it('per-sample: each example keeps its own channels; a NaN ranks its channel first in that example only', () => {
    tf.tidy(() => {
      const x = data([2, 6, 6, 3], 37);
      const w = data([3, 3, 3, 6], 38);
      const conv: Conv = (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid');
      // Example 0 is largest on channels 0 and 1, example 1 on channels 5 and then 4, but a NaN in its channel 2
      // ranks that channel first: example 1 keeps 2 and 5.
      const dyData = tf.abs(data([2, 4, 4, 6], 39)).dataSync() as Float32Array;
      for (let i = 0; i < dyData.length; i++) {
        const [b, c] = [Math.floor(i / 96), i % 6];
        if (b === 0 && c < 2) dyData[i] += 10;
        if (b === 1 && c >= 4) dyData[i] += c === 5 ? 20 : 10;
      }
      dyData[96 + 5 * 6 + 2] = NaN;
      const dy = tf.tensor(dyData, [2, 4, 4, 6]);
      const g = grads(conv, x, w, dy, { k: 2, mode: 'per-sample' });
      const ref = grads(conv, x, w, maskDy(dy, 2, 'per-sample'));
      // The finite channels equal the reference; channel 2 is NaN exactly where the reference's is.
      const finite = [0, 1, 3, 4, 5];
      expectClose(tf.gather(g[1], finite, 3), tf.gather(ref[1], finite, 3), 1e-4);
      const nanAt = (t: tf.Tensor) => Array.from(tf.gather(t, [2], 3).dataSync(), Number.isNaN);
      expect(nanAt(g[1])).toEqual(nanAt(ref[1]));
      expect(nanAt(g[1]).some(Boolean)).toBe(true);
      // dx of example 0 is finite (its channels 0 and 1 only); example 1's carries the NaN of channel 2.
      const dx = g[0].dataSync();
      expect(dx.slice(0, 108).every(Number.isFinite)).toBe(true);
      expect(Array.from(dx.slice(108)).some(Number.isNaN)).toBe(true);
      // dW: channels 0 and 1 (example 0), 2 (NaN) and 5 (example 1) have gradients; 3 and 4 stay zero.
      const dW = g[1].dataSync();
      const touched = Array.from({ length: 6 }, (_, c) => Array.from(dW).some((v, i) => i % 6 === c && v !== 0));
      expect(touched).toEqual([true, true, true, false, false, true]);
    });
  });

  it('fused conv2d with bias and relu: filter and input gradients from the masked dy·relu′, bias gradient exact', () => {
    tf.tidy(() => {
      const x = data([2, 6, 6, 3], 12);
      const w = data([3, 3, 3, 5], 13);
      const bias = data([5], 14);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor =>
        tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, bias: c, strides: 1, pad: 'same', activation: 'relu' });
      const dy = data([2, 6, 6, 5], 15);
      const g = withMeProp({ k: 2, mode: 'unified' }, () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), dy)))([x, w, bias]),
      );
      const pre = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').add(bias);
      const dyAct = tf.mul(dy, tf.step(pre));
      const ref = grads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), x, w, maskDy(dyAct, 2, 'unified'));
      expectClose(g[0], ref[0], 1e-4);
      expectClose(g[1], ref[1], 1e-4);
      expectClose(g[2], tf.sum(dyAct, [0, 1, 2]), 1e-4);
    });
  });

  describe.each([
    ['multiplier 1', [2, 7, 7, 6], [3, 3, 6, 1]],
    ['multiplier 2, stride 2', [2, 9, 8, 3], [3, 3, 3, 2]],
  ])('depthwiseConv2d %s', (_name, xShape, wShape) => {
    const conv: Conv = (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, _name.includes('stride') ? 2 : 1, 'same');
    it('k >= channels is exact; k = 2 equals the reference (unified, per-example and per-sample)', () => {
      tf.tidy(() => {
        const x = data(xShape, 16);
        const w = data(wShape, 17);
        const dy = data(conv(x, w).shape, 18);
        const exact = grads(conv, x, w, dy);
        const CO = wShape[2] * wShape[3];
        const full = grads(conv, x, w, dy, { k: CO, mode: 'unified' });
        expectClose(full[0], exact[0], 1e-4);
        expectClose(full[1], exact[1], 1e-4);
        for (const mode of ['unified', 'per-example', 'per-sample'] as const) {
          const g = grads(conv, x, w, dy, { k: 2, mode });
          const ref = grads(conv, x, w, maskDy(dy, 2, mode));
          expectClose(g[0], ref[0], 1e-4);
          expectClose(g[1], ref[1], 1e-4);
        }
      });
    });
  });

  it('bad attributes throw naming the value (dilated conv)', () => {
    tf.tidy(() => {
      const x = data([1, 9, 9, 2], 19);
      const w = data([3, 3, 2, 4], 20);
      expect(() =>
        grads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid', 'NHWC', 2), x, w, data([1, 5, 5, 4], 21), {
          k: 2,
          mode: 'unified',
        }),
      ).toThrow(/dilations must be 1.*2/);
    });
  });

  it.each(['unified', 'per-example', 'per-sample'] as const)(
    'a conv net trains under withMeProp (%s) without leaking tensors',
    async (mode) => {
      // Seeded weights: with tfjs's unseeded initializers the per-sample run's loss after 12 steps was above its
      // first in about one run in ten.
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [10, 10, 1],
            filters: 8,
            kernelSize: 3,
            activation: 'relu',
            kernelInitializer: init(1),
          }),
          tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'linear', kernelInitializer: init(2) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
      const xs = tf.randomUniform([12, 10, 10, 1], 0, 1, 'float32', 22);
      const ys = tf.oneHot(tf.randomUniform([12], 0, 3, 'int32', 23), 3);
      const losses: number[] = [];
      const { after1, afterN } = await tensorCountAfter(async () => {
        const loss = await withMeProp({ k: 2, mode }, () => model.trainOnBatch(xs, ys));
        losses.push(loss as number);
      }, 12);
      expect(afterN).toBe(after1);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );
});
