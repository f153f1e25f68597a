// SeededDropout: dropout whose mask is reproducible for a seed and new at every training call. tfjs's own
// Dropout with a `seed` draws the same mask at every step (the seed restarts its generator each call), which is
// not dropout any more; without a seed, runs are not repeatable. Here call n of a layer draws its mask from
// seed * 1e6 + n, so a plain model and its mePropify copy, built with the same seed, drop the same units at the
// same steps (a paired comparison) and every step gets a fresh mask.
import * as tf from '@tensorflow/tfjs';

export interface SeededDropoutArgs {
  /** Fraction of the inputs set to zero during training, in [0, 1). */
  rate: number;
  /** Integer seed of the mask sequence. */
  seed: number;
  name?: string;
}

export class SeededDropout extends tf.layers.Layer {
  static className = 'MePropBench>SeededDropout';
  readonly rate: number;
  readonly seed: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`SeededDropout: rate must be in [0, 1), got ${args.rate}`);
    if (!Number.isInteger(args.seed)) throw new Error(`SeededDropout: seed must be an integer, got ${args.seed}`);
    this.rate = args.rate;
    this.seed = args.seed;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.rate === 0) return tf.clone(x);
    const seed = this.seed * 1e6 + this.calls++;
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.rate), x.dtype);
      return tf.div(tf.mul(x, keep), 1 - this.rate);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

tf.serialization.registerClass(SeededDropout);
