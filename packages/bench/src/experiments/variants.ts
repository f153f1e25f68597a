// The model + optimizer pairs the experiments compare: plain tfjs (tf.train.*) against meProp
// (mePropify: hidden layers keep k, the output layer stays exact) with the lazy sparse optimizers.
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdagrad, sparseAdam } from '@meprop/layers';
import type { MnistMethod, OptimizerName } from '../results/schema';
import { buildMlp, type MlpProtocol } from './mlp';

/** The paper's learning rates: Adam 0.001, AdaGrad 0.1 (Sun et al. 2017, section 4). */
export const PAPER_LEARNING_RATES: Record<OptimizerName, number> = { adam: 0.001, adagrad: 0.1 };

/**
 * Adam's epsilon under `--protocol paper`: 1e-8, PyTorch's default (the paper's code calls `optim.Adam` with
 * defaults). tf.train.adam's default is the backend's epsilon, 1e-7 in float32; `quick` keeps that.
 */
export const PAPER_ADAM_EPSILON = 1e-8;

export interface VariantOptions {
  hidden: readonly number[];
  seed: number;
  /** Kept entries per hidden layer output (meProp methods only). */
  k: number;
  learningRate: number;
  /** The MLP's init and dropout (default 'quick'). */
  protocol?: MlpProtocol;
  /**
   * Whether the meProp methods train with the lazy sparse optimizers of @meprop/layers (default true) or with
   * tf.train's dense ones, as the paper's code does.
   */
  sparseOptimizers?: boolean;
}

export interface Variant {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  dispose(): void;
}

function optimizerFor(name: OptimizerName, lr: number, sparse: boolean, protocol: MlpProtocol): tf.Optimizer {
  if (name === 'adam') {
    const eps = protocol === 'paper' ? PAPER_ADAM_EPSILON : undefined;
    return sparse ? sparseAdam(lr, 0.9, 0.999, eps) : tf.train.adam(lr, 0.9, 0.999, eps);
  }
  return sparse ? sparseAdagrad(lr) : tf.train.adagrad(lr);
}

export function makeVariant(method: MnistMethod, optimizer: OptimizerName, opts: VariantOptions): Variant {
  const base = buildMlp(opts.hidden, opts.seed, opts.protocol ?? 'quick');
  let model: tf.LayersModel = base;
  if (method !== 'plain') {
    model = mePropify(base, { k: opts.k, mode: method, seed: opts.seed }).model;
  }
  const opt = optimizerFor(
    optimizer,
    opts.learningRate,
    method !== 'plain' && opts.sparseOptimizers !== false,
    opts.protocol ?? 'quick',
  );
  return {
    model,
    optimizer: opt,
    dispose() {
      opt.dispose();
      model.dispose();
      if (model !== base) {
        try {
          base.dispose();
        } catch {
          // mePropify may share (and so have disposed) the original's weights.
        }
      }
    },
  };
}
