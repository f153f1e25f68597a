import * as tf from '@tensorflow/tfjs';
import '../index';
import { mePropMatMul } from '@meprop/core';
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

  test.each([
    [false, false, [5, 7], [7, 3]],
    [true, false, [7, 5], [7, 3]],
    [false, true, [5, 7], [3, 7]],
    [true, true, [7, 5], [3, 7]],
    [false, false, [2, 5, 7], [7, 3]],
  ])(
    "core's MePropMatMul on cpu (this package's kernel) equals tf.matMul bit for bit (tA=%p, tB=%p, a %p, b %p)",
    (tA, tB, aShape, bShape) => {
      const a = tf.randomNormal(aShape as number[], 0, 1, 'float32', 3);
      const b = tf.randomNormal(bShape as number[], 0, 1, 'float32', 4);
      const ours = mePropMatMul(a, b, { k: 2 }, tA as boolean, tB as boolean);
      const theirs = tf.matMul(a, b, tA as boolean, tB as boolean);
      expect(ours.shape).toEqual(theirs.shape);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(theirs.dataSync()));
      tf.dispose([a, b, ours, theirs]);
    },
  );

  test('is registered on cpu only', () => {
    expect(tf.getKernel(MePropForwardMatMul, 'cpu')).toBeDefined();
    expect(tf.getKernel(MePropForwardMatMul, 'wasm')).toBeUndefined();
  });
});
