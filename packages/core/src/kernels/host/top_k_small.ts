// Per-row top-k for small k (conv channels: k = 8 of 64 at each of ~25k positions): a sorted buffer of k with
// insertion, no allocation per row. Same result as topKIndices: largest magnitude first, NaN largest, ties to
// the lower index, indices written in ascending order.

/** Largest k that takes this path; above it the heap of top_k.ts wins. */
export const SMALL_K = 16;

/**
 * Top-k by |v| of `src[offset .. offset+n)` into `outIdx[outOffset .. +k)` (ascending indices).
 * `bufIdx`/`bufMag` are scratch of length >= k.
 */
export function topKIndicesSmall(
  src: ArrayLike<number>,
  offset: number,
  n: number,
  k: number,
  outIdx: Int32Array,
  outOffset: number,
  bufIdx: Int32Array,
  bufMag: Float64Array,
): void {
  let count = 0;
  for (let j = 0; j < n; j++) {
    const v = src[offset + j];
    const m = v !== v ? Infinity : v < 0 ? -v : v;
    // Scanning in ascending index order: an equal magnitude never displaces an earlier index.
    if (count === k && !(m > bufMag[k - 1])) continue;
    let pos = count < k ? count++ : k - 1;
    while (pos > 0 && m > bufMag[pos - 1]) {
      bufMag[pos] = bufMag[pos - 1];
      bufIdx[pos] = bufIdx[pos - 1];
      pos--;
    }
    bufMag[pos] = m;
    bufIdx[pos] = j;
  }
  // Insertion sort of the k indices, ascending.
  for (let a = 0; a < k; a++) {
    const id = bufIdx[a];
    let b = a;
    while (b > 0 && outIdx[outOffset + b - 1] > id) {
      outIdx[outOffset + b] = outIdx[outOffset + b - 1];
      b--;
    }
    outIdx[outOffset + b] = id;
  }
}
