// A small 10-input MLP (two ReLU hidden layers h1, h2 with dropout d1 between, softmax output of 3) and a
// learnable three-class task for it: shared by the meSimp cycle tests.
import * as tf from '@tensorflow/tfjs';

export const SMALL_MLP_IN = 10;
const init = (seed: number) => tf.initializers.glorotUniform({ seed });

export function smallMlp(hidden = 24): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [SMALL_MLP_IN], units: hidden, activation: 'relu', kernelInitializer: init(1), name: 'h1' }),
      // Seeded, so that the cycle tests train the same way every run (an unseeded mask made their unit counts vary).
      tf.layers.dropout({ rate: 0.1, seed: 7, name: 'd1' }),
      tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: init(2), name: 'h2' }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'out' }),
    ],
  });
}

/** Three classes by the sign pattern of two input features: learnable by a small MLP. */
export function signPatternData(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, SMALL_MLP_IN], 0, 1, 'float32', seed) as tf.Tensor2D;
    const a = tf.greater(tf.slice(x, [0, 0], [n, 1]), 0);
    const b = tf.greater(tf.slice(x, [0, 1], [n, 1]), 0);
    const label = tf.reshape(tf.add(tf.cast(a, 'int32'), tf.cast(tf.logicalAnd(a, b), 'int32')), [n]);
    return { x, y: tf.oneHot(label, 3).toFloat() as tf.Tensor2D };
  });
}
