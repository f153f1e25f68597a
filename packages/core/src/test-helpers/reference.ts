// Brute-force meProp reference for tests: mask dense dy to its top-k (by sorting, independently of the
// heap in the kernels), then take plain tfjs gradients of matMul with that masked dy.
import * as tf from '@tensorflow/tfjs';

/** Sort key: larger magnitude first, NaN largest, ties to the lower index. */
function rank(values: number[]): number[] {
  const mag = values.map((v) => (Number.isNaN(v) ? Infinity : Math.abs(v)));
  return mag.map((_, j) => j).sort((p, q) => mag[q] - mag[p] || (mag[p] === mag[q] ? p - q : 0));
}

export function referenceMask(
  dy: Float32Array | number[],
  M: number,
  N: number,
  k: number,
  mode: 'per-example' | 'unified',
): Float32Array {
  const mask = new Float32Array(M * N);
  if (mode === 'per-example') {
    for (let r = 0; r < M; r++) {
      const row = Array.from(dy.slice(r * N, (r + 1) * N));
      for (const j of rank(row).slice(0, k)) mask[r * N + j] = 1;
    }
  } else {
    const score = new Array<number>(N).fill(0);
    for (let r = 0; r < M; r++)
      for (let j = 0; j < N; j++) score[j] += Number.isNaN(dy[r * N + j]) ? Infinity : Math.abs(dy[r * N + j]);
    const cols = rank(score).slice(0, k);
    for (let r = 0; r < M; r++) for (const j of cols) mask[r * N + j] = 1;
  }
  return mask;
}

/**
 * Per-sample mask of dy viewed as [B, S, N] (S positions per example): each example keeps its k channels of the
 * largest Σ|dy| over its S positions (NaN ranked largest, ties to the lower channel) at all of them.
 */
export function referencePerSampleMask(dy: Float32Array | number[], B: number, S: number, N: number, k: number): Float32Array {
  const mask = new Float32Array(B * S * N);
  for (let b = 0; b < B; b++) {
    const score = new Array<number>(N).fill(0);
    for (let s = 0; s < S; s++)
      for (let j = 0; j < N; j++) {
        const v = dy[(b * S + s) * N + j];
        score[j] += Number.isNaN(v) ? Infinity : Math.abs(v);
      }
    for (const j of rank(score).slice(0, k)) for (let s = 0; s < S; s++) mask[(b * S + s) * N + j] = 1;
  }
  return mask;
}

/** Plain-tfjs gradients of sum(matMul(a, b, tA, tB) * dyUsed). */
export function plainGrads(a: tf.Tensor, b: tf.Tensor, dyUsed: tf.Tensor, tA: boolean, tB: boolean): [tf.Tensor, tf.Tensor] {
  const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, tA, tB), dyUsed)))([a, b]);
  return [g[0], g[1]];
}

/** The reference meProp gradients for 2-D a, b: mask dy (rows = examples), then plain gradients. */
export function referenceGrads(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  dy: tf.Tensor2D,
  k: number,
  mode: 'per-example' | 'unified',
  tA: boolean,
  tB: boolean,
): [tf.Tensor, tf.Tensor] {
  const [M, N] = dy.shape;
  const mask = tf.tensor2d(referenceMask(dy.dataSync() as Float32Array, M, N, k, mode), [M, N]);
  return plainGrads(a, b, tf.mul(dy, mask), tA, tB);
}

/** Random operands for y = op(a) @ op(b) with y of shape [M, N] and inner dimension K. */
export function operands(
  M: number,
  K: number,
  N: number,
  tA: boolean,
  tB: boolean,
  seed: number,
): { a: tf.Tensor2D; b: tf.Tensor2D; dy: tf.Tensor2D } {
  return {
    a: tf.randomNormal(tA ? [K, M] : [M, K], 0, 1, 'float32', seed) as tf.Tensor2D,
    b: tf.randomNormal(tB ? [N, K] : [K, N], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
    dy: tf.randomNormal([M, N], 0, 1, 'float32', seed + 2) as tf.Tensor2D,
  };
}

/** Number of columns of a 2-D tensor that have at least one non-zero entry. */
export function nonZeroColumns(t: tf.Tensor): number {
  const [rows, cols] = t.shape;
  const v = t.dataSync();
  let count = 0;
  for (let j = 0; j < cols; j++) {
    for (let r = 0; r < rows; r++) {
      if (v[r * cols + j] !== 0) {
        count++;
        break;
      }
    }
  }
  return count;
}
