// The 2-D target density of the flows view, a "banana": x1 ~ N(0, 1.2²), x2 | x1 ~ N(0.4·x1² − 1.5, 0.35²).
// Exact to sample (for MAF's maximum likelihood) and to evaluate (for IAF's reverse KL); no affine map of a
// Gaussian fits it, while one autoregressive step can (x2's mean and scale depend on x1).
import * as tf from '@tensorflow/tfjs';

const S1 = 1.2;
const S2 = 0.35;
const mean2 = (x1: number): number => 0.4 * x1 * x1 - 1.5;

/** n exact samples (Box-Muller on Math.random). */
export function sampleBanana(n: number): tf.Tensor2D {
  const out = new Float32Array(n * 2);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  for (let i = 0; i < n; i++) {
    const x1 = S1 * normal();
    out[2 * i] = x1;
    out[2 * i + 1] = mean2(x1) + S2 * normal();
  }
  return tf.tensor2d(out, [n, 2]);
}

/** log p(x) for x of shape [n, 2]. */
export function bananaLogProb(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [x1, x2] = tf.unstack(x, 1);
    const r2 = tf.sub(x2, tf.sub(tf.mul(tf.square(x1), 0.4), 1.5));
    const c = -Math.log(2 * Math.PI * S1 * S2);
    return tf.add(tf.add(tf.mul(tf.square(tf.div(x1, S1)), -0.5), tf.mul(tf.square(tf.div(r2, S2)), -0.5)), c) as tf.Tensor1D;
  });
}
