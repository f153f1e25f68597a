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
