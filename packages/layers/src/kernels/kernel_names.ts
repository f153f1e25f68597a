// Names and attributes of the kernels @meprop/layers registers with tfjs's kernel registry.
import type { NamedAttrMap } from '@tensorflow/tfjs-core';

export type LazyRule = 'adam' | 'adagrad' | 'sgd';

/**
 * One optimizer step for one weight, skipping the columns of a 2-D weight whose gradient column is all
 * zero (weights and slots left as they were). Inputs {value, grad, slot0?, slot1?} (adam: m, v; adagrad:
 * the accumulator; sgd: none); outputs [value, ...slots], same shapes.
 */
export const MePropLazyUpdate = 'MePropLazyUpdate';
export interface LazyStepParams {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Adam's bias corrections 1 - beta^t at the global step t. */
  correction1: number;
  correction2: number;
}
export interface MePropLazyUpdateAttrs extends NamedAttrMap, LazyStepParams {
  rule: LazyRule;
  /** Rows and columns of the weight viewed as [rows, cols]; lazy=false updates every entry. */
  rows: number;
  cols: number;
  lazy: boolean;
}

/**
 * The forward product y = a @ b of 2-D float32 a [M, K], b [K, N] (no transposes), equal bit for bit to
 * tf.matMul on the same backend. Registered on cpu only (wasm's own matMul is already fast).
 */
export const MePropForwardMatMul = 'MePropForwardMatMul';

/**
 * The forward of a meProp Dense layer in one kernel: y = act(a @ b + bias) for 2-D float32 a [M, K], b [K, N]
 * and bias [N] (optional), act relu or linear. Inputs {a, b, bias?}. Its registered gradient
 * (kernels/tensorflow/dense_forward.ts) takes the activation's and the bias's gradients and passes the rest to
 * meProp's backward (@meprop/core's mePropMatMulGradThunks), so the weight's gradient is meProp's, sparse slices
 * included. Registered on `tensorflow` only, where every tfjs kernel call costs tens of µs and the layer's
 * three kernels (product, bias, relu) and the relu's gradient (a composite of six tfjs ops there) dominate a
 * small layer's step.
 */
export const MePropDenseForward = 'MePropDenseForward';
export interface MePropDenseForwardAttrs {
  relu: boolean;
  /** The layer's meProp runtime (config and random stream); read by the gradient only. */
  runtime: import('@meprop/core').MePropRuntime;
}
