// The lazy update from tfjs ops, for backends without the MePropLazyUpdate kernel (WebGL 1, any other backend).
import * as tf from '@tensorflow/tfjs-core';
import type { MePropLazyUpdateAttrs } from '../kernels/kernel_names';

/** [value, ...slots] after one step; a: the kernel's attrs. Call inside tf.tidy. */
export function compositeLazyUpdate(
  value: tf.Tensor,
  grad: tf.Tensor,
  slots: tf.Tensor[],
  a: MePropLazyUpdateAttrs,
): tf.Tensor[] {
  let next: tf.Tensor[];
  if (a.rule === 'adam') {
    const [m, v] = slots;
    const m2 = tf.add(tf.mul(m, a.beta1), tf.mul(grad, 1 - a.beta1));
    const v2 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(grad), 1 - a.beta2));
    const step = tf.div(tf.div(m2, a.correction1), tf.add(tf.sqrt(tf.div(v2, a.correction2)), a.epsilon));
    next = [tf.sub(value, tf.mul(step, a.learningRate)), m2, v2];
  } else if (a.rule === 'adagrad') {
    const acc2 = tf.add(slots[0], tf.square(grad));
    next = [tf.sub(value, tf.mul(tf.div(grad, tf.sqrt(tf.add(acc2, a.epsilon))), a.learningRate)), acc2];
  } else {
    next = [tf.sub(value, tf.mul(grad, a.learningRate))];
  }
  if (!a.lazy) return next;
  // A column takes part when any entry of its gradient is non-zero (NaN counts: it must propagate).
  const g2 = tf.reshape(grad, [a.rows, a.cols]);
  const touched = tf.reshape(tf.any(tf.logicalOr(tf.notEqual(g2, 0), tf.isNaN(g2)), 0), [1, a.cols]);
  const old = [value, ...slots];
  return next.map((t, i) => tf.where(tf.broadcastTo(touched, [a.rows, a.cols]), t, old[i]));
}
