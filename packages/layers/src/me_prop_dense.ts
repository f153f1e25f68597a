// MePropDense: tf.layers.dense whose kernel matmul back-propagates with meProp (top-k of dy).
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { MePropConfig, runtimeFor } from '@meprop/core';
import { mePropLayerMatMul } from './me_prop_mat_mul_op';
import { denseForwardKernel, hasDenseForwardKernel } from './kernels/tensorflow/dense_forward';
import { countKept, isCountingKept } from './me_simp/activeness';
import { DenseClass } from './tfjs_classes';
import type { DenseInternals, DenseLayerArgs } from './tfjs_internals';
import { layerMePropConfig, mePropConfigEntries, MePropLayerArgs, withDefaultName } from './me_prop_args';

export type MePropDenseArgs = DenseLayerArgs & MePropLayerArgs;

/**
 * A Dense layer (same weights, build, config and forward as tf.layers.dense) whose backward keeps only
 * the top-k entries of the output gradient, so the kernel gradient has at most k non-zero columns per
 * example (exactly k per batch in unified mode). Bias and activation are applied as Dense applies them.
 */
export class MePropDense extends DenseClass {
  static override className = 'MeProp>Dense';
  /** This layer's meProp config (its own object: no global state). */
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropDenseArgs) {
    if (args === null || typeof args !== 'object') throw new Error(`mePropDense: args must be an object, got ${String(args)}`);
    const config = layerMePropConfig({ k: args.k, mode: args.mode, seed: args.seed }, 'mePropDense: args');
    super(withDefaultName(args, 'me_prop_dense'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const input = Array.isArray(inputs) ? inputs[0] : inputs;
      if (Array.isArray(inputs) && inputs.length !== 1) {
        throw new Error(`MePropDense expects exactly one input tensor, got ${inputs.length}`);
      }
      const self = this as unknown as DenseInternals;
      const kernel = self.kernel.read();
      const bias = self.bias !== null && self.bias !== undefined ? self.bias.read() : null;
      const activation = activationName(self.activation);
      if (
        hasDenseForwardKernel() &&
        input.rank === 2 &&
        input.dtype === 'float32' &&
        kernel.dtype === 'float32' &&
        (activation === 'relu' || activation === 'linear') &&
        !isCountingKept(this)
      ) {
        // tensorflow: product, bias and relu in one kernel; the same values, and meProp's backward for the product.
        return denseForwardKernel(input, kernel, bias, {
          relu: activation === 'relu',
          runtime: runtimeFor(this.mePropConfig, 'MePropDense'),
        });
      }
      let output: tf.Tensor;
      if (input.rank === 2) {
        output = countKept(this, mePropLayerMatMul(input, kernel, this.mePropConfig));
      } else {
        // N-D input: fold the leading axes into rows, as tfjs's K.dot does.
        const lead = input.shape.slice(0, -1);
        const flat = tf.reshape(input, [-1, input.shape[input.rank - 1]]);
        const y = countKept(this, mePropLayerMatMul(flat, kernel, this.mePropConfig));
        output = tf.reshape(y, [...lead, y.shape[1] as number]);
      }
      if (bias !== null) output = tf.add(output, bias);
      return self.activation.apply(output);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropDense);

/** The class name of a tfjs-layers activation ('relu', 'linear', ...), or null for an unknown object. */
function activationName(activation: unknown): string | null {
  const a = activation as { getClassName?: () => string } | null;
  return a !== null && typeof a.getClassName === 'function' ? a.getClassName() : null;
}

/** The factory, like tf.layers.dense: `mePropDense({ units: 500, activation: 'relu', k: 20 })`. */
export function mePropDense(args: MePropDenseArgs): MePropDense {
  return new MePropDense(args);
}
