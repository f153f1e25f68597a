// The VAE generative network: z -> Bernoulli logits of every pixel.
import * as tf from '@tensorflow/tfjs-core';
import { layers, LayersModel, input, model, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { assertActivation, FlowActivation } from './activation';
import { seededGlorot } from './gaussian_encoder';
import { assertInt, assertIntArray } from './validate';

export interface BernoulliDecoderArgs {
  latentSize: number;
  hiddenUnits: number[];
  outputSize: number;
  activation?: FlowActivation;
  seed?: number;
}

export function bernoulliDecoder(args: BernoulliDecoderArgs): LayersModel {
  assertInt('latentSize', args.latentSize, 1);
  assertIntArray('hiddenUnits', args.hiddenUnits, 1);
  assertInt('outputSize', args.outputSize, 1);
  const activation = args.activation ?? 'relu';
  assertActivation('activation', activation);
  if (args.seed !== undefined) assertInt('seed', args.seed, 0);
  const z = input({ shape: [args.latentSize], name: 'z' });
  let hidden: SymbolicTensor = z;
  args.hiddenUnits.forEach((units, k) => {
    hidden = layers
      .dense({ units, activation, kernelInitializer: seededGlorot(args.seed, 20 + k), name: `decoder_hidden_${k}` })
      .apply(hidden) as SymbolicTensor;
  });
  const logits = layers
    .dense({ units: args.outputSize, kernelInitializer: seededGlorot(args.seed, 40), name: 'decoder_logits' })
    .apply(hidden) as SymbolicTensor;
  return model({ inputs: z, outputs: logits, name: 'bernoulli_decoder' });
}

/** Σ_i log Bernoulli(x_i; sigmoid(l_i)) = Σ_i x_i l_i − softplus(l_i), stable for any logit. */
export function bernoulliLogProb(x: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.sub(tf.mul(x, logits), tf.softplus(logits)), 1) as tf.Tensor1D);
}
