// mePropConv2d / mePropDepthwiseConv2d: tfjs's forward, meProp's backward with the op's own config.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { mePropConv2d, mePropDepthwiseConv2d } from './index';
import { referenceMask, referencePerSampleMask } from './test-helpers/reference';

const data = (shape: number[], seed: number): tf.Tensor4D =>
  tf.randomUniform(shape, -1, 1, 'float32', seed) as unknown as tf.Tensor4D;

function maskDy(dy: tf.Tensor, k: number, mode: 'per-example' | 'unified' | 'per-sample'): tf.Tensor {
  const CO = dy.shape[3] as number;
  const v = dy.dataSync() as Float32Array;
  if (mode === 'per-sample') {
    const B = dy.shape[0];
    return tf.mul(dy, tf.tensor(referencePerSampleMask(v, B, dy.size / CO / B, CO, k), dy.shape));
  }
  return tf.mul(dy, tf.tensor(referenceMask(v, dy.size / CO, CO, k, mode), dy.shape));
}

describeEachBackend('mePropConv2d', () => {
  it.each(['unified', 'per-example', 'per-sample'] as const)(
    'forward equals tf.conv2d; %s gradients equal the reference (stride 2, same)',
    (mode) => {
      tf.tidy(() => {
        const x = data([2, 9, 9, 3], 1);
        const w = data([3, 3, 3, 6], 2);
        const y = mePropConv2d(x, w, { k: 2, mode }, { strides: 2, pad: 'same' });
        expectClose(y, tf.conv2d(x, w, 2, 'same'), 1e-5);
        const dy = data(y.shape, 3);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(mePropConv2d(a as tf.Tensor4D, b as tf.Tensor4D, { k: 2, mode }, { strides: 2, pad: 'same' }), dy)),
        )([x, w]);
        const masked = maskDy(dy, 2, mode);
        const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), masked)),
        )([x, w]);
        expectClose(g[0], ref[0], 1e-4);
        expectClose(g[1], ref[1], 1e-4);
      });
    },
  );

  it('mePropDepthwiseConv2d: forward equals tf.depthwiseConv2d, unified gradients equal the reference', () => {
    tf.tidy(() => {
      const x = data([2, 7, 7, 3], 4);
      const w = data([3, 3, 3, 2], 5);
      const y = mePropDepthwiseConv2d(x, w, { k: 3, mode: 'unified' }, { pad: 'same' });
      expectClose(y, tf.depthwiseConv2d(x, w, 1, 'same'), 1e-5);
      const dy = data(y.shape, 6);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(mePropDepthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, { k: 3, mode: 'unified' }, { pad: 'same' }), dy)),
      )([x, w]);
      const masked = maskDy(dy, 3, 'unified');
      const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), masked)),
      )([x, w]);
      expectClose(g[0], ref[0], 1e-4);
      expectClose(g[1], ref[1], 1e-4);
    });
  });

  describe('a first layer (x needs no gradient) runs no dx product', () => {
    const DX_KERNELS = ['MePropSparseConvGradInput', 'MePropConvUnifiedGradInput', 'Conv2DBackpropInput'];

    /** Names of the kernels run while differentiating sum(mePropConv2d(x, w) * dy) with respect to w or both. */
    async function kernelsRun(mode: 'unified' | 'per-example', wrt: 'w' | 'both'): Promise<string[]> {
      const x = data([2, 8, 8, 3], 11);
      const w = data([3, 3, 3, 8], 12);
      const dy = data([2, 6, 6, 8], 13);
      const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(mePropConv2d(a as tf.Tensor4D, b as tf.Tensor4D, { k: 3, mode }), dy));
      const info = await tf.profile(() => {
        const g = wrt === 'w' ? [tf.grad((b: tf.Tensor) => loss(x, b))(w)] : tf.grads(loss)([x, w]);
        tf.dispose(g);
      });
      tf.dispose([x, w, dy]);
      return info.kernels.map((k) => k.name);
    }

    it.each(['unified', 'per-example'] as const)('%s', async (mode) => {
      const both = await kernelsRun(mode, 'both');
      const onlyW = await kernelsRun(mode, 'w');
      const left = [...both];
      for (const name of onlyW) {
        const i = left.indexOf(name);
        expect(i).toBeGreaterThanOrEqual(0); // nothing runs only when dx is skipped
        left.splice(i, 1);
      }
      expect(left.length).toBeGreaterThan(0);
      expect(onlyW.filter((n) => DX_KERNELS.includes(n))).toEqual([]);
    });

    it('the filter gradient alone equals the reference', () => {
      tf.tidy(() => {
        const x = data([2, 8, 8, 3], 14);
        const w = data([3, 3, 3, 8], 15);
        const dy = data([2, 6, 6, 8], 16);
        const g = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(mePropConv2d(x, b as tf.Tensor4D, { k: 3, mode: 'unified' }), dy)))(w);
        const masked = maskDy(dy, 3, 'unified');
        const ref = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, b as tf.Tensor4D, 1, 'valid'), masked)))(w);
        expectClose(g, ref, 1e-4);
      });
    });
  });

  describe('with bias and activation (fused forward, dz and the bias gradient in the backward)', () => {
    const plainLayer = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, relu: boolean): tf.Tensor => {
      const z = tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b);
      return relu ? tf.relu(z) : z;
    };

    it.each([
      ['relu', 6, 'unified'],
      ['relu', 2, 'unified'],
      ['linear', 2, 'unified'],
      ['relu', 2, 'per-sample'],
    ] as const)('%s, k = %i of 6 (%s): forward equals tfjs; gradients equal the reference on the masked dz', (act, k, mode) => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = data([2, 7, 6, 3], 11);
        const w = data([3, 3, 3, 6], 12);
        const b = tf.randomUniform([6], -0.5, 0.5, 'float32', 13) as tf.Tensor1D;
        const relu = act === 'relu';
        const config = { k, mode };
        const y = mePropConv2d(x, w, config, { pad: 'same', bias: b, activation: act });
        expectClose(y, plainLayer(x, w, b, relu), 1e-5);
        const dy = data(y.shape, 14);
        const g = tf.grads((xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor) =>
          tf.sum(
            tf.mul(
              mePropConv2d(xa as tf.Tensor4D, wa as tf.Tensor4D, config, {
                pad: 'same',
                bias: ba as tf.Tensor1D,
                activation: act,
              }),
              dy,
            ),
          ),
        )([x, w, b]);
        // Reference: plain tfjs on dz = dy · relu'(y), masked to the k channels of the largest Σ|dz| (over the batch,
        // or per example); the bias gradient is the whole Σdz (meProp sparsifies the convolution's products, not
        // the bias).
        const dz = relu ? tf.mul(dy, tf.cast(tf.greater(y, 0), 'float32')) : dy;
        const masked = maskDy(dz, k, mode);
        const ref = tf.grads((xa: tf.Tensor, wa: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(xa as tf.Tensor4D, wa as tf.Tensor4D, 1, 'same'), masked)),
        )([x, w]);
        expectClose(g[0], ref[0], 1e-4);
        expectClose(g[1], ref[1], 1e-4);
        expectClose(g[2], tf.sum(dz, [0, 1, 2]), 1e-4);
        if (k === 6) {
          // Every channel kept: exactly tfjs's own gradients of relu(conv2d + bias).
          const exact = tf.grads((xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor) =>
            tf.sum(tf.mul(plainLayer(xa, wa, ba, relu), dy)),
          )([x, w, b]);
          for (let i = 0; i < 3; i++) expectClose(g[i], exact[i], 1e-4);
        }
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('bad bias or activation throws naming the option and the value', () => {
      tf.tidy(() => {
        const x = data([1, 5, 5, 2], 15);
        const w = data([3, 3, 2, 4], 16);
        expect(() => mePropConv2d(x, w, { k: 2 }, { bias: tf.zeros([3]) as tf.Tensor1D })).toThrow(
          /options.bias must be a float32 tensor of shape \[4\].*got float32 \[3\]/,
        );
        expect(() => mePropConv2d(x, w, { k: 2 }, { activation: 'elu' as 'relu' })).toThrow(/options.activation.*"elu"/);
      });
    });
  });

  it('bad arguments throw naming the argument and the value', () => {
    tf.tidy(() => {
      const x = data([1, 5, 5, 2], 7);
      const w = data([3, 3, 2, 4], 8);
      expect(() => mePropConv2d(x, data([3, 3, 3, 4], 9), { k: 2 })).toThrow(/x's channels \(2.*filter.shape\[2\] \(3/);
      expect(() => mePropConv2d(tf.zeros([5, 5, 2]) as unknown as tf.Tensor4D, w, { k: 2 })).toThrow(/x must have rank 4/);
      expect(() => mePropConv2d(x, w, { k: 0 })).toThrow(/k must be > 0/);
      expect(() => mePropConv2d(x, w, { k: 2 }, { strides: 0 })).toThrow(/options.strides.*0/);
      expect(() => mePropConv2d(x, w, { k: 2 }, { pad: 'full' as 'same' })).toThrow(/options.pad.*full/);
      expect(() => mePropConv2d(tf.cast(x, 'int32') as tf.Tensor4D, w, { k: 2 })).toThrow(/x must have dtype float32, got int32/);
    });
  });
});
