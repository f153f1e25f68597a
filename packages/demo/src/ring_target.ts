// The 2-D target density of the flows view: eight Gaussians (σ = 0.3) on a circle of radius 2, equally
// weighted. Easy to sample exactly (for MAF's maximum likelihood) and to evaluate (for IAF's reverse KL),
// and hard enough that a single affine map cannot fit it.
import * as tf from '@tensorflow/tfjs';

const MODES = 8;
const RADIUS = 2;
const SIGMA = 0.3;
const CENTERS = Array.from({ length: MODES }, (_, i) => [RADIUS * Math.cos((2 * Math.PI * i) / MODES), RADIUS * Math.sin((2 * Math.PI * i) / MODES)]);

/** n exact samples (Box-Muller on Math.random). */
export function sampleRing(n: number): tf.Tensor2D {
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const [cx, cy] = CENTERS[Math.floor(Math.random() * MODES)];
    const r = Math.sqrt(-2 * Math.log(1 - Math.random()));
    const t = 2 * Math.PI * Math.random();
    out[2 * i] = cx + SIGMA * r * Math.cos(t);
    out[2 * i + 1] = cy + SIGMA * r * Math.sin(t);
  }
  return tf.tensor2d(out, [n, 2]);
}

/** log p(z) of the mixture for z of shape [n, 2]. */
export function ringLogProb(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const centers = tf.tensor2d(CENTERS.flat(), [MODES, 2]);
    const d2 = tf.sum(tf.square(tf.sub(tf.expandDims(z, 1), tf.expandDims(centers, 0))), 2); // [n, MODES]
    const logComp = tf.sub(tf.div(d2, -2 * SIGMA * SIGMA), Math.log(2 * Math.PI * SIGMA * SIGMA) + Math.log(MODES));
    return tf.logSumExp(logComp, 1) as tf.Tensor1D;
  });
}
