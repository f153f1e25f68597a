// The two products of meProp's backward, touching only the kept entries of dy (shared by cpu and wasm).
//
// Notation: the forward was y = op(a) @ op(b) with X = op(a) of shape [M, K] and W = op(b) of shape [K, N];
// op transposes when the matching flag is set. The kept entries of dy are given per row r as column indices
// idx[r, 0..k) and values val[r, 0..k). Cost: M*k*K multiply-adds for each product instead of M*K*N.

export interface SparseDyRows {
  /** [M, k] column indices of the kept entries. */
  idx: Int32Array;
  /** [M, k] their values. */
  val: Float32Array;
  M: number;
  k: number;
  /** Every row keeps the same columns (unified mode): lets the loops share the gathered entries. */
  shared: boolean;
}

/** da = (dy_kept @ Wᵀ) laid out like a: [M, K], or [K, M] when transposeA. `out` must be zeroed. */
export function sparseGradA(
  s: SparseDyRows,
  b: ArrayLike<number>,
  K: number,
  N: number,
  transposeA: boolean,
  transposeB: boolean,
  out: Float32Array,
): void {
  const { idx, val, M, k, shared } = s;
  if (!transposeB) {
    // W[i, j] = b[i*N + j]. Row i of b stays in cache while every example reads its kept entries from it.
    if (shared) {
      const w = new Float64Array(k);
      for (let i = 0; i < K; i++) {
        const row = i * N;
        for (let t = 0; t < k; t++) w[t] = b[row + idx[t]];
        for (let r = 0; r < M; r++) {
          const o = r * k;
          let acc = 0;
          for (let t = 0; t < k; t++) acc += val[o + t] * w[t];
          out[transposeA ? i * M + r : r * K + i] = acc;
        }
      }
    } else {
      for (let i = 0; i < K; i++) {
        const row = i * N;
        for (let r = 0; r < M; r++) {
          const o = r * k;
          let acc = 0;
          for (let t = 0; t < k; t++) acc += val[o + t] * b[row + idx[o + t]];
          out[transposeA ? i * M + r : r * K + i] = acc;
        }
      }
    }
  } else {
    // W[i, j] = b[j*K + i]: row j of b is contiguous, so accumulate k scaled rows.
    for (let r = 0; r < M; r++) {
      const o = r * k;
      for (let t = 0; t < k; t++) {
        const v = val[o + t];
        const row = idx[o + t] * K;
        if (transposeA) {
          for (let i = 0; i < K; i++) out[i * M + r] += v * b[row + i];
        } else {
          const dst = r * K;
          for (let i = 0; i < K; i++) out[dst + i] += v * b[row + i];
        }
      }
    }
  }
}

/**
 * db = (Xᵀ @ dy_kept) laid out like b: [K, N], or [N, K] when transposeB. Only the kept columns are
 * written, so `out` must be zeroed.
 */
export function sparseGradB(
  s: SparseDyRows,
  a: ArrayLike<number>,
  K: number,
  N: number,
  transposeA: boolean,
  transposeB: boolean,
  out: Float32Array,
): void {
  const { idx, val, M, k, shared } = s;
  if (!transposeB) {
    // Row i of the output stays in cache while every example adds its kept entries to it.
    if (shared) {
      for (let i = 0; i < K; i++) {
        const row = i * N;
        for (let t = 0; t < k; t++) {
          let acc = 0;
          for (let r = 0; r < M; r++) acc += (transposeA ? a[i * M + r] : a[r * K + i]) * val[r * k + t];
          out[row + idx[t]] = acc;
        }
      }
    } else {
      for (let i = 0; i < K; i++) {
        const row = i * N;
        for (let r = 0; r < M; r++) {
          const x = transposeA ? a[i * M + r] : a[r * K + i];
          const o = r * k;
          for (let t = 0; t < k; t++) out[row + idx[o + t]] += x * val[o + t];
        }
      }
    }
  } else {
    for (let r = 0; r < M; r++) {
      const o = r * k;
      for (let t = 0; t < k; t++) {
        const v = val[o + t];
        const dst = idx[o + t] * K;
        if (transposeA) {
          for (let i = 0; i < K; i++) out[dst + i] += a[i * M + r] * v;
        } else {
          const src = r * K;
          for (let i = 0; i < K; i++) out[dst + i] += a[src + i] * v;
        }
      }
    }
  }
}
