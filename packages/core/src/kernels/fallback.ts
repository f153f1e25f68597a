// Composite meProp backward from tfjs ops, for backends without a meProp kernel (webgl, webgpu, tensorflow).
// Per-example and random modes scatter the kept entries into a dense dy and run the dense products: correct,
// but no faster than plain tfjs. (Unified mode does not come here: see unifiedGrads in sparse_backward.ts,
// which is a real saving on any backend.)
import * as tf from '@tensorflow/tfjs-core';
import type { Selection } from '../selection';

function keptMagnitude(dy: tf.Tensor2D): tf.Tensor2D {
  const mag = tf.abs(dy);
  // NaN ranks above everything, so it is kept and propagates.
  return tf.where(tf.isNaN(dy), tf.fill(dy.shape, Infinity), mag);
}

export function compositeSelect(dy: tf.Tensor2D, k: number, mode: 'per-example' | 'unified', randomIdx?: Int32Array): Selection {
  const [M, N] = dy.shape;
  const [indices, values, shared] = tf.tidy(() => {
    let indices: tf.Tensor2D;
    let shared: tf.Tensor1D | null = null;
    if (randomIdx !== undefined) {
      indices = tf.tensor2d(randomIdx, [M, k], 'int32');
    } else if (mode === 'unified') {
      const score = tf.sum(keptMagnitude(dy), 0);
      shared = tf.topk(score, k, true).indices as tf.Tensor1D;
      indices = tf.tile(tf.expandDims(shared, 0), [M, 1]) as tf.Tensor2D;
    } else {
      indices = tf.topk(keptMagnitude(dy), k, true).indices as tf.Tensor2D;
    }
    const values =
      shared !== null ? (tf.gather(dy, shared, 1) as tf.Tensor2D) : (tf.gather(dy, indices, 1, 1) as tf.Tensor2D);
    return shared === null ? [indices, values] : [indices, values, shared];
  }) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D?];
  return { indices, values, shared: shared ?? null, M, N, k };
}

/** dy with only the kept entries, as a dense [M, N] tensor. */
function denseKept(sel: Selection): tf.Tensor2D {
  const oneHot = tf.oneHot(sel.indices, sel.N, 1, 0, 'float32'); // [M, k, N]
  return tf.sum(tf.mul(oneHot, tf.expandDims(sel.values, 2)), 1) as tf.Tensor2D;
}

export function compositeGradA(sel: Selection, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const dX: tf.Tensor2D = tf.matMul(denseKept(sel), b, false, !transposeB);
    return transposeA ? tf.transpose(dX) : dX;
  });
}

export function compositeGradB(sel: Selection, a: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const dyKept = denseKept(sel);
    return transposeB ? tf.matMul(dyKept, a, true, transposeA) : tf.matMul(a, dyKept, !transposeA, false);
  });
}
