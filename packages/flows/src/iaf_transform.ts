// The math of one IAF transformation (Kingma et al. 2016) on top of a MADE; the layers own the weights.
import * as tf from '@tensorflow/tfjs-core';
import { Made } from './autoregressive_network';

/** Result of a flow pass: the transformed tensor and log|det J| per example ([batch]). */
export interface FlowResult {
  z: tf.Tensor2D;
  logDet: tf.Tensor1D;
}

/**
 * One MADE pass split into shift m and log-scale s ([batch, D] each). With a `logScaleClip`, s is clipped to
 * ±clip (as Pyro does for its affine flows): exp(s) of an unbounded s overflows float32 for large inputs.
 */
export function shiftAndLogScale(
  made: Made,
  z: tf.Tensor2D,
  h: tf.Tensor2D | undefined,
  logScaleClip?: number,
): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const [m, s] = tf.unstack(made.apply(z, h), 2) as tf.Tensor2D[];
    return [m, logScaleClip === undefined ? s : tf.clipByValue(s, -logScaleClip, logScaleClip)];
  });
}

/** Default bound on |s| of the affine forms (IAF affine and MAF): e^±15 spans 13 orders of magnitude. */
export const DEFAULT_LOG_SCALE_CLIP = 15;

export class IafTransform {
  /**
   * stable: [m, s] = MADE(z, h), σ = sigmoid(s + forgetBias), z' = σ⊙z + (1−σ)⊙m, log|det| = Σ log σ.
   * affine: z' = m + exp(s)⊙z, log|det| = Σ s, with s clipped to ±logScaleClip.
   */
  constructor(
    readonly made: Made,
    readonly stable: boolean,
    readonly forgetBias: number,
    readonly logScaleClip = DEFAULT_LOG_SCALE_CLIP,
  ) {}

  private shiftAndScale(z: tf.Tensor2D, h?: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    // The stable form needs no clip: sigmoid and log-sigmoid are finite everywhere.
    return shiftAndLogScale(this.made, z, h, this.stable ? undefined : this.logScaleClip);
  }

  forward(z: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    return tf.tidy(() => {
      const [m, s] = this.shiftAndScale(z, h);
      if (!this.stable) {
        return { z: tf.add(m, tf.mul(tf.exp(s), z)) as tf.Tensor2D, logDet: tf.sum(s, 1) as tf.Tensor1D };
      }
      const a = tf.add(s, this.forgetBias);
      // 1 − sigmoid(a) is sigmoid(−a): no cancellation when σ is close to 1.
      const out = tf.add(tf.mul(tf.sigmoid(a), z), tf.mul(tf.sigmoid(tf.neg(a)), m));
      // log σ(a) as the log-sigmoid −softplus(−a): finite for any a, where log(sigmoid(a)) is −Infinity for
      // a << 0. (tf.logSigmoid computes the same, but its customGrad loses its saved input under an outer tidy.)
      const logDet = tf.sum(tf.neg(tf.softplus(tf.neg(a))), 1);
      return { z: out as tf.Tensor2D, logDet: logDet as tf.Tensor1D };
    });
  }

  /**
   * Recovers z from z' in D passes: after pass k the first k dimensions in the order are exact, because m and s
   * of a dimension depend only on the dimensions before it.
   */
  inverse(y: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let z: tf.Tensor2D = tf.zerosLike(y);
      for (let pass = 0; pass < this.made.spec.eventSize; pass++) {
        const prev = z;
        z = tf.tidy(() => {
          const [m, s] = this.shiftAndScale(prev, h);
          if (!this.stable) return tf.mul(tf.sub(y, m), tf.exp(tf.neg(s)));
          const a = tf.add(s, this.forgetBias);
          return tf.div(tf.sub(y, tf.mul(tf.sigmoid(tf.neg(a)), m)), tf.sigmoid(a));
        });
        prev.dispose();
      }
      return z;
    });
  }
}
