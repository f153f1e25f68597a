// A VAE (Bernoulli decoder) whose posterior is a diagonal Gaussian, optionally refined by an IAF.
import * as tf from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import { FlowActivation } from './activation';
import { bernoulliDecoder, bernoulliLogProb } from './bernoulli_decoder';
import { gaussianEncoder } from './gaussian_encoder';
import { IafFlow } from './iaf_flow';
import { standardNormalLogProb } from './normal';
import { assertInt, assertIntArray } from './validate';

export interface IafPosteriorArgs {
  steps: number;
  hiddenUnits: number[];
  /** Width of the encoder's context h (default: the latent size). */
  contextSize?: number;
  stable?: boolean;
  forgetBias?: number;
  /** Nonlinearity of the IAF's MADEs (default 'elu'). */
  activation?: FlowActivation;
}

export interface VaeArgs {
  inputSize: number;
  latentSize: number;
  /** Widths of the encoder's hidden layers; the decoder mirrors them. */
  hiddenUnits: number[];
  /** Omit for a diagonal Gaussian posterior. */
  iaf?: IafPosteriorArgs;
  activation?: FlowActivation;
  /** Seeds the initializers and the reparameterization noise, so runs repeat exactly. */
  seed?: number;
}

export class Vae {
  readonly encoder: LayersModel;
  readonly decoder: LayersModel;
  readonly flow: IafFlow | null;
  readonly latentSize: number;
  private noiseSeed: number;

  constructor(args: VaeArgs) {
    assertInt('inputSize', args.inputSize, 1);
    assertInt('latentSize', args.latentSize, 1);
    assertIntArray('hiddenUnits', args.hiddenUnits, 1);
    if (args.seed !== undefined) assertInt('seed', args.seed, 0);
    const seed = args.seed;
    this.latentSize = args.latentSize;
    this.noiseSeed = (seed ?? Math.floor(Math.random() * 1e6)) * 7919 + 1;
    const contextSize = args.iaf ? (args.iaf.contextSize ?? args.latentSize) : 0;
    this.encoder = gaussianEncoder({ ...args, contextSize, seed });
    this.decoder = bernoulliDecoder({
      latentSize: args.latentSize,
      hiddenUnits: args.hiddenUnits.slice().reverse(),
      outputSize: args.inputSize,
      activation: args.activation,
      seed,
    });
    this.flow = args.iaf
      ? new IafFlow({ ...args.iaf, eventSize: args.latentSize, contextSize, seed: seed === undefined ? undefined : seed + 1 })
      : null;
    if (this.flow) {
      // Build now, so trainableVariables() is complete before the first step.
      const flow = this.flow;
      tf.tidy(() => {
        flow.forward(tf.zeros([1, args.latentSize]), contextSize > 0 ? tf.zeros([1, contextSize]) : undefined);
      });
    }
  }

  private noise(shape: [number, number]): tf.Tensor2D {
    return tf.randomNormal(shape, 0, 1, 'float32', this.noiseSeed++);
  }

  /**
   * log p(x, z) − log q(z | x) for `samples` posterior samples per example: [samples, batch]. Each sample's
   * weight is an unbiased single-sample ELBO; their log-mean-exp is the importance-weighted bound. `noise`
   * ([batch * samples, latentSize], sample-major) replaces the seeded reparameterization noise.
   */
  logWeights(x: tf.Tensor2D, samples = 1, noise?: tf.Tensor2D): tf.Tensor2D {
    assertInt('samples', samples, 1);
    if (noise && (noise.rank !== 2 || noise.shape[0] !== x.shape[0] * samples || noise.shape[1] !== this.latentSize)) {
      throw new Error(
        `noise must have shape [batch * samples, latentSize] = [${x.shape[0] * samples}, ${this.latentSize}], got [${noise.shape.join(', ')}]`,
      );
    }
    if (x.rank !== 2 || x.shape[1] !== this.encoder.inputs[0].shape[1]) {
      throw new Error(`x must have shape [batch, ${this.encoder.inputs[0].shape[1]}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const batch = x.shape[0];
      const out = this.encoder.apply(x) as tf.Tensor2D[];
      const tile = (t: tf.Tensor2D) => (samples === 1 ? t : (tf.tile(t, [samples, 1]) as tf.Tensor2D));
      const mu = tile(out[0]);
      const logSigma = tile(out[1]);
      const eps = noise ?? this.noise([batch * samples, this.latentSize]);
      let z: tf.Tensor2D = tf.add(mu, tf.mul(tf.exp(logSigma), eps));
      let logQ = tf.sub(standardNormalLogProb(eps), tf.sum(logSigma, 1)) as tf.Tensor1D;
      if (this.flow) {
        // out[2] is the context h; an IAF posterior with contextSize 0 has none.
        const r = this.flow.forward(z, out.length > 2 ? tile(out[2]) : undefined);
        z = r.z;
        logQ = tf.sub(logQ, r.logDet);
      }
      const logits = this.decoder.apply(z) as tf.Tensor2D;
      const logW = tf.sub(tf.add(bernoulliLogProb(tile(x), logits), standardNormalLogProb(z)), logQ);
      return tf.reshape(logW, [samples, batch]) as tf.Tensor2D;
    });
  }

  /** Mean single-sample ELBO over the batch (a scalar, in nats per example); `noise` fixes eps (for tests). */
  elbo(x: tf.Tensor2D, noise?: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.mean(this.logWeights(x, 1, noise)) as tf.Scalar);
  }

  /** The training loss for `optimizer.minimize(() => vae.loss(x), true, vae.trainableVariables())`. */
  loss(x: tf.Tensor2D, noise?: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.neg(this.elbo(x, noise)));
  }

  /**
   * log p(x) estimated with `samples` importance samples from the posterior, per example ([batch]):
   * log (1/S) Σ_s w_s through a max-shifted log-sum-exp. Samples go through in chunks to bound memory.
   */
  importanceWeightedLogLikelihood(x: tf.Tensor2D, samples: number, chunk = 50): tf.Tensor1D {
    assertInt('samples', samples, 1);
    assertInt('chunk', chunk, 1);
    return tf.tidy(() => {
      const parts: tf.Tensor2D[] = [];
      for (let done = 0; done < samples; done += chunk) parts.push(this.logWeights(x, Math.min(chunk, samples - done)));
      const logW = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
      return tf.sub(tf.logSumExp(logW, 0), Math.log(samples)) as tf.Tensor1D;
    });
  }

  trainableVariables(): tf.Variable[] {
    const weights = [
      ...this.encoder.trainableWeights,
      ...this.decoder.trainableWeights,
      ...(this.flow ? this.flow.trainableWeights : []),
    ];
    return weights.map((w) => w.read() as tf.Variable);
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    if (this.flow) this.flow.dispose();
  }
}

export function vae(args: VaeArgs): Vae {
  return new Vae(args);
}
