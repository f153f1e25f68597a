// Composite meProp backward from tfjs ops, for backends without meProp kernels (tensorflow, WebGL 1, any other).
// Per-example and random modes gather the rows the kept entries touch and sum them with segment sums, so the
// work is M*k*K per product instead of M*N*K. (Unified mode does not come here: see unifiedGrads in sparse_backward.ts,
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
    const values = shared !== null ? (tf.gather(dy, shared, 1) as tf.Tensor2D) : (tf.gather(dy, indices, 1, 1) as tf.Tensor2D);
    return shared === null ? [indices, values] : [indices, values, shared];
  }) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D?];
  return { indices, values, shared: shared ?? null, M, N, k };
}

/**
 * The rows of X = op(a) [M, K] or of Wᵀ = op(b)ᵀ [N, K] that the kept entries touch, scaled by those entries:
 * [M*k, K]. Gathers only the needed rows, so the work is M*k*K, not M*N*K.
 */
function scaledRows(source: tf.Tensor2D, rowIds: tf.Tensor1D, values: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.gather(source, rowIds, 0), tf.reshape(values, [-1, 1]));
}

export function compositeGradA(sel: Selection, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const wt: tf.Tensor2D = transposeB ? b : tf.transpose(b); // Wᵀ as [N, K]
    const K = wt.shape[1];
    const contrib = scaledRows(wt, tf.reshape(sel.indices, [-1]), sel.values); // [M*k, K]
    const dX: tf.Tensor2D = tf.sum(tf.reshape(contrib, [sel.M, sel.k, K]), 1);
    return transposeA ? tf.transpose(dX) : dX;
  });
}

export function compositeGradB(sel: Selection, a: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const x: tf.Tensor2D = transposeA ? tf.transpose(a) : a; // X as [M, K]
    const rowIds = tf.reshape(tf.tile(tf.reshape(tf.range(0, sel.M, 1, 'int32'), [-1, 1]), [1, sel.k]), [-1]) as tf.Tensor1D;
    const contrib = scaledRows(x, rowIds, sel.values); // [M*k, K]: row (r, t) is x[r] * dy[r, idx[r, t]]
    // Segment sums need a native UnsortedSegmentSum (tensorflow, webgl): cpu and wasm never come here.
    const dWt = tf.unsortedSegmentSum(contrib, tf.reshape(sel.indices, [-1]) as tf.Tensor1D, sel.N) as tf.Tensor2D; // [N, K]
    return transposeB ? dWt : tf.transpose(dWt);
  });
}
