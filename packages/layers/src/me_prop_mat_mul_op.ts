// The product every meProp layer of this package runs: x @ w with meProp's backward (from @meprop/core)
// and, on cpu, a faster forward kernel giving bit-for-bit tf.matMul's result.
import * as tf from '@tensorflow/tfjs-core';
import { MePropConfig, mePropMatMul, mePropMatMulGrads } from '@meprop/core';
import { MePropForwardMatMul } from './kernels/kernel_names';

/**
 * y = x @ w for 2-D float32 x [M, K] and w [K, N]. Forward: tf.matMul's result (our cpu kernel, else
 * tf.matMul); backward: dy keeps its top-k entries per `config` and dx, dw are computed from those only.
 */
export function mePropLayerMatMul(x: tf.Tensor, w: tf.Tensor, config: MePropConfig): tf.Tensor {
  if (tf.getKernel(MePropForwardMatMul, tf.getBackend()) === undefined || x.rank !== 2 || w.rank !== 2 || x.dtype !== 'float32' || w.dtype !== 'float32') {
    return mePropMatMul(x, w, config);
  }
  if (x.shape[1] !== w.shape[0]) {
    throw new Error(`mePropLayerMatMul: inner dimensions of x [${x.shape}] and w [${w.shape}] must match`);
  }
  const f = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.engine().runKernel(MePropForwardMatMul, { a, b }, {}) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { da, db } = mePropMatMulGrads(dy, saved[0], saved[1], config);
        return [da, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor;
}
