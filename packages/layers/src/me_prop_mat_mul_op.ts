// The product every meProp layer of this package runs: x @ w with meProp's backward, through @meprop/core's
// MePropMatMul kernel (on cpu this package registers a faster forward for it, bit-for-bit tf.matMul's result;
// see kernels/register_all_kernels.ts). Its gradient is lazy: a layer whose input needs no gradient (the
// first layer of a model) computes only dW.
import * as tf from '@tensorflow/tfjs-core';
import { MePropConfig, mePropMatMul } from '@meprop/core';

/** y = x @ w for 2-D float32 x [M, K] and w [K, N]; backward: dy keeps its top-k entries per `config`. */
export function mePropLayerMatMul(x: tf.Tensor, w: tf.Tensor, config: MePropConfig): tf.Tensor {
  return mePropMatMul(x, w, config);
}
