// Selection of the kept entries of dy, on plain typed arrays (shared by the cpu and wasm kernels).
import { Rng } from '../../rng';
import { hostSimd } from './host_simd';
import { SMALL_K, topKIndicesSmall } from './top_k_small';

/** |v| with NaN ranked above everything, so a NaN in dy is kept and propagates. */
function magnitude(v: number): number {
  return v !== v ? Infinity : Math.abs(v);
}

/**
 * Indices of the k largest magnitudes in `mag[offset .. offset+n)`, ties to the lower index, written to
 * `outIdx[outOffset .. outOffset+k)` in ascending index order. A min-heap of size k: O(n log k).
 * `heapIdx`/`heapMag` are scratch buffers of length >= k.
 */
export function topKIndices(
  mag: ArrayLike<number>,
  offset: number,
  n: number,
  k: number,
  outIdx: Int32Array,
  outOffset: number,
  heapIdx: Int32Array,
  heapMag: Float64Array,
): void {
  // Heap order: a is "smaller" than b if its magnitude is smaller, or equal with a higher index.
  let size = 0;
  const less = (ma: number, ia: number, mb: number, ib: number): boolean => ma < mb || (ma === mb && ia > ib);
  const siftDown = (pos: number): void => {
    const m = heapMag[pos];
    const id = heapIdx[pos];
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= size) break;
      const r = l + 1;
      let c = l;
      if (r < size && less(heapMag[r], heapIdx[r], heapMag[l], heapIdx[l])) c = r;
      if (!less(heapMag[c], heapIdx[c], m, id)) break;
      heapMag[pos] = heapMag[c];
      heapIdx[pos] = heapIdx[c];
      pos = c;
    }
    heapMag[pos] = m;
    heapIdx[pos] = id;
  };
  for (let j = 0; j < n; j++) {
    const m = mag[offset + j];
    if (size < k) {
      // sift up
      let pos = size++;
      while (pos > 0) {
        const p = (pos - 1) >> 1;
        if (!less(m, j, heapMag[p], heapIdx[p])) break;
        heapMag[pos] = heapMag[p];
        heapIdx[pos] = heapIdx[p];
        pos = p;
      }
      heapMag[pos] = m;
      heapIdx[pos] = j;
    } else if (m > heapMag[0]) {
      // Later indices never win ties (scanning in ascending order), so a strict > is the tie rule.
      heapMag[0] = m;
      heapIdx[0] = j;
      siftDown(0);
    }
  }
  const sorted = heapIdx.subarray(0, k).slice().sort();
  outIdx.set(sorted, outOffset);
}

/** Below this many entries of dy the JavaScript selection runs (copying into the module costs more). */
const SIMD_MIN_ENTRIES = 4096;

export type SelectMode = 'per-example' | 'unified' | 'random';

/**
 * Chooses k entries in each row of dy [rows, cols] and returns their column indices [rows, k] (ascending
 * within a row) and values [rows, k]. In unified mode every row gets the same k columns.
 */
export function selectKept(
  dy: ArrayLike<number>,
  rows: number,
  cols: number,
  k: number,
  mode: SelectMode,
  seed: number,
  outIdx: Int32Array,
  outVal: Float32Array,
): void {
  if (mode === 'per-example' && k <= SMALL_K && dy instanceof Float32Array && rows * cols >= SIMD_MIN_ENTRIES) {
    // The same selection as WebAssembly where the runtime has it (host_simd.ts): the same indices and values.
    const simd = hostSimd();
    if (simd) {
      simd.selectSmall(dy, rows, cols, k, outIdx, outVal);
      return;
    }
  }
  const heapIdx = new Int32Array(k);
  const heapMag = new Float64Array(k);
  if (mode === 'per-example' && k <= SMALL_K) {
    for (let r = 0; r < rows; r++) topKIndicesSmall(dy, r * cols, cols, k, outIdx, r * k, heapIdx, heapMag);
  } else if (mode === 'per-example') {
    const mag = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let j = 0; j < cols; j++) mag[j] = magnitude(dy[base + j]);
      topKIndices(mag, 0, cols, k, outIdx, r * k, heapIdx, heapMag);
    }
  } else if (mode === 'unified') {
    const score = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let j = 0; j < cols; j++) score[j] += magnitude(dy[base + j]);
    }
    topKIndices(score, 0, cols, k, outIdx, 0, heapIdx, heapMag);
    for (let r = 1; r < rows; r++) outIdx.copyWithin(r * k, 0, k);
  } else {
    const rng = new Rng(seed);
    const perm = new Int32Array(cols);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j++) perm[j] = j;
      // Partial Fisher-Yates: the first k slots become a uniform random k-subset.
      for (let t = 0; t < k; t++) {
        const s = t + rng.nextInt(cols - t);
        const tmp = perm[t];
        perm[t] = perm[s];
        perm[s] = tmp;
      }
      const chosen = perm.subarray(0, k).slice().sort();
      outIdx.set(chosen, r * k);
    }
  }
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let t = 0; t < k; t++) outVal[r * k + t] = dy[base + outIdx[r * k + t]];
  }
}
