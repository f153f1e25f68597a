// The standard normal base density of every flow in the package.
import * as tf from '@tensorflow/tfjs-core';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Σ_d log N(x_d; 0, 1) per row: [batch, D] -> [batch]. */
export function standardNormalLogProb(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(x), 1), -0.5), x.shape[1] * HALF_LOG_2PI) as tf.Tensor1D);
}

/** Σ_d log N(x_d; μ_d, exp(logSigma_d)) per row, written in terms of the unit-normal noise eps = (x − μ)/σ. */
export function diagonalNormalLogProb(eps: tf.Tensor2D, logSigma: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(standardNormalLogProb(eps), tf.sum(logSigma, 1)) as tf.Tensor1D);
}
