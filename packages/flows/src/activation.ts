// The element-wise nonlinearities the flow networks accept, by name so they round-trip through configs.
import * as tf from '@tensorflow/tfjs-core';
import { assertOneOf } from './validate';

export const FLOW_ACTIVATIONS = ['linear', 'relu', 'elu', 'tanh', 'sigmoid', 'softplus'] as const;
export type FlowActivation = (typeof FLOW_ACTIVATIONS)[number];

export function assertActivation(name: string, value: unknown): asserts value is FlowActivation {
  assertOneOf(name, value, FLOW_ACTIVATIONS);
}

export function applyActivation<T extends tf.Tensor>(x: T, activation: FlowActivation): T {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'elu':
      return tf.elu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softplus':
      return tf.softplus(x);
  }
}
