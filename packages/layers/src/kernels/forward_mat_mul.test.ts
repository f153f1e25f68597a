import * as tf from '@tensorflow/tfjs';
import '../index';
import { MePropForwardMatMul } from './kernel_names';

describe('MePropForwardMatMul (cpu)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  test.each([
    [1, 1, 1],
    [7, 101, 13],
    [3, 48, 5],
    [2, 49, 97],
    [32, 784, 50],
    [4, 96, 4],
    [5, 97, 6],
    [33, 500, 503],
    [6, 30, 3],
  ])('equals tf.matMul bit for bit (M=%i, K=%i, N=%i)', (M, K, N) => {
    const a = tf.randomNormal([M, K], 0, 1, 'float32', M + K);
    const b = tf.randomNormal([K, N], 0, 3, 'float32', K + N);
    const ours = tf.engine().runKernel(MePropForwardMatMul, { a, b }, {}) as tf.Tensor;
    const theirs = tf.matMul(a, b);
    expect(ours.shape).toEqual([M, N]);
    expect(Array.from(ours.dataSync())).toEqual(Array.from(theirs.dataSync()));
    tf.dispose([a, b, ours, theirs]);
  });

  test('is registered on cpu only', () => {
    expect(tf.getKernel(MePropForwardMatMul, 'cpu')).toBeDefined();
    expect(tf.getKernel(MePropForwardMatMul, 'wasm')).toBeUndefined();
  });
});
