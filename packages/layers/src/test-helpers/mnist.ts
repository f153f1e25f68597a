// Real MNIST digits as tensors for the accuracy test, from the project's one loader and split (test-utils,
// which re-exports @meprop/bench's).
import * as tf from '@tensorflow/tfjs';
import { mnistSubset } from '@meprop/test-utils';

export interface MnistSplit {
  xTrain: tf.Tensor2D;
  yTrain: tf.Tensor2D;
  xTest: tf.Tensor2D;
  yTest: tf.Tensor2D;
}

/** The first nTrain training and nTest test digits, as [n, 784] images and one-hot [n, 10] labels. */
export function loadMnist(nTrain: number, nTest: number): MnistSplit {
  const data = mnistSubset(nTrain, nTest);
  const part = (s: { images: Float32Array; labels: Int32Array; n: number }) => ({
    x: tf.tensor2d(s.images, [s.n, 784]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(s.labels, 'int32'), 10).toFloat()) as tf.Tensor2D,
  });
  const train = part(data.train);
  const test = part(data.test);
  return { xTrain: train.x, yTrain: train.y, xTest: test.x, yTest: test.y };
}

/** Test accuracy in percent. */
export function accuracy(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(() => {
    const p = model.predict(x, { batchSize: 500 }) as tf.Tensor;
    return 100 * tf.mean(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0];
  });
}
