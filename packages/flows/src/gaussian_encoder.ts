// The VAE inference network: x -> [μ, log σ] of a diagonal Gaussian, plus the IAF context h when asked for.
import { initializers, layers, LayersModel, input, model, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { assertActivation, FlowActivation } from './activation';
import { assertInt, assertIntArray } from './validate';

export interface GaussianEncoderArgs {
  inputSize: number;
  hiddenUnits: number[];
  latentSize: number;
  /** Width of the context h fed to the IAF steps; 0 (default) gives no h output. */
  contextSize?: number;
  activation?: FlowActivation;
  seed?: number;
}

export function seededGlorot(seed: number | undefined, k: number): ReturnType<typeof initializers.glorotUniform> {
  return initializers.glorotUniform(seed === undefined ? {} : { seed: seed * 100 + k });
}

/** A LayersModel with outputs [mu, logSigma] or [mu, logSigma, h]; plain tfjs layers, so it saves as usual. */
export function gaussianEncoder(args: GaussianEncoderArgs): LayersModel {
  assertInt('inputSize', args.inputSize, 1);
  assertIntArray('hiddenUnits', args.hiddenUnits, 1);
  assertInt('latentSize', args.latentSize, 1);
  const contextSize = args.contextSize ?? 0;
  assertInt('contextSize', contextSize, 0);
  const activation = args.activation ?? 'relu';
  assertActivation('activation', activation);
  if (args.seed !== undefined) assertInt('seed', args.seed, 0);
  const x = input({ shape: [args.inputSize], name: 'x' });
  let hidden: SymbolicTensor = x;
  args.hiddenUnits.forEach((units, k) => {
    hidden = layers
      .dense({ units, activation, kernelInitializer: seededGlorot(args.seed, k), name: `encoder_hidden_${k}` })
      .apply(hidden) as SymbolicTensor;
  });
  const head = (units: number, name: string, k: number) =>
    layers.dense({ units, kernelInitializer: seededGlorot(args.seed, 50 + k), name }).apply(hidden) as SymbolicTensor;
  const outputs = [head(args.latentSize, 'encoder_mu', 0), head(args.latentSize, 'encoder_log_sigma', 1)];
  if (contextSize > 0) outputs.push(head(contextSize, 'encoder_context', 2));
  return model({ inputs: x, outputs, name: 'gaussian_encoder' });
}
