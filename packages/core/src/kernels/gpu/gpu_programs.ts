// What meProp's GPU kernels need from a backend's shader language: one program builder per step. The
// builders are pure functions of shapes (baked into the source as constants, and into the cache key), so each
// layer shape compiles once per backend. webgl/programs.ts (GLSL ES 3.00) and webgpu/programs.ts (WGSL)
// implement the same steps; gpu_kernels.ts runs them.
//
// Ranking key: the bits of |v| as an unsigned integer, which orders non-negative floats like their values;
// NaN is clamped to the key of +Infinity, so it ranks with Infinity above every number (as the cpu kernels
// rank it), and ties go to the lower index. Selecting the k-th largest key is a radix search over the
// key's bits, four at a time (each pass counts, among the keys that match the digits fixed so far, how many have
// each value of the next digit), so there is no sort and no read-back.

/** An opaque backend program object (tfjs-backend-webgl's GPGPUProgram or tfjs-backend-webgpu's WebGPUProgram). */
export type GpuProgram = object;

export interface GpuPrograms {
  /** score [1, N]: Σ over the M rows of |dy| (NaN counted as +Infinity). Input `dy` [M, N]. */
  columnScore(M: number, N: number): GpuProgram;
  /**
   * at [R, 1]: for each row of `x` [R, N], the index of an entry whose key is the k-th largest key of the row.
   * Input `x` [R, N].
   */
  kthLargest(R: number, N: number, k: number): GpuProgram;
  /** ties [R, 1]: how many entries equal to the threshold each row keeps (k minus the count above it). Inputs `x`, `at`. */
  rowTies(R: number, N: number, k: number): GpuProgram;
  /**
   * blocks [R, ceil(N / block)]: per block of columns, the keys above the threshold plus 128 times the keys equal
   * to it (block <= 64, so both counts fit one exact number). Inputs `x` [R, N], `at` [R, 1].
   */
  blockCounts(R: number, N: number, block: number): GpuProgram;
  /**
   * indices [R, k] (ascending): the kept columns of each row of `x`: every key above the threshold, then the
   * first `ties` entries equal to it. Each output skips whole blocks with the block counts, then scans one block.
   * Inputs `x` [R, N], `at` [R, 1], `ties` [R, 1], `blocks` from blockCounts.
   */
  keptIndices(R: number, N: number, k: number, block: number): GpuProgram;
  /** [M, k]: every row a copy of row 0 of `idx` [1, k] (unified mode). */
  tileRow(M: number, k: number): GpuProgram;
  /** values [M, k] = dy[r, idx[r, t]]. Inputs `dy` [M, N], `idx` [M, k]. */
  gatherKept(M: number, N: number, k: number): GpuProgram;
  /** da laid out like a ([M, K], or [K, M] when transposeA) from the kept entries. Inputs `idx`, `val` [M, k], `b`. */
  sparseGradA(M: number, K: number, N: number, k: number, transposeA: boolean, transposeB: boolean): GpuProgram;
  /**
   * Optional: xᵀ [C, R] of x [R, C]. Where present, sparse dx reads the weight transposed, so that neighbouring
   * outputs read neighbouring memory (webgl: one pass that also replaces tfjs's unpacking of a packed weight).
   */
  transpose?(R: number, C: number): GpuProgram;
  /** The kept entries as a dense [M, N] (zero elsewhere). Inputs `idx`, `val` [M, k] with ascending rows. */
  densifyKept(M: number, N: number, k: number): GpuProgram;
  // db without a dense matmul: the non-zero kept entries regrouped by column (a CSC layout built on the device).
  /** counts [1, N]: non-zero entries per column of `dense` [M, N]. */
  columnCounts(M: number, N: number): GpuProgram;
  /** sums [1, ceil(N / block)]: counts summed per block of columns. Input `counts` [1, N]. */
  blockSums(N: number, block: number): GpuProgram;
  /** offsets [1, N]: exclusive prefix sums of counts. Inputs `counts` [1, N], `sums` from blockSums. */
  columnOffsets(N: number, block: number): GpuProgram;
  /** rowOf [1, M*k]: entry e of the column-sorted list is row rowOf[e] (or -1 past the end). Inputs `dense`, `offsets`, `counts`. */
  columnEntries(M: number, N: number, k: number): GpuProgram;
  /** db laid out like b ([K, N], or [N, K] when transposeB) from the column lists. Inputs `a`, `dense`, `rowOf`, `offsets`, `counts`. */
  sparseGradBColumns(M: number, K: number, N: number, transposeA: boolean, transposeB: boolean): GpuProgram;
  /**
   * Optional, with sparseGradBPairs: pairs [2, M*k]: row 0 as columnEntries' rowOf, row 1 the entry's value
   * (webgl: packed, so one texel holds two entries). Inputs `dense`, `offsets`, `counts`.
   */
  columnEntryPairs?(M: number, N: number, k: number): GpuProgram;
  /** Optional: db as sparseGradBColumns, from columnEntryPairs' pairs. Inputs `a`, `pairs`, `offsets`, `counts`. */
  sparseGradBPairs?(M: number, K: number, N: number, transposeA: boolean, transposeB: boolean): GpuProgram;
  /** tf.gather(x, idx, axis) for x [R, C] and idx [1, k]: [R, k] for axis 1, [k, C] for axis 0. Inputs `x`, `idx`. */
  gatherAxis(R: number, C: number, k: number, axis: 0 | 1): GpuProgram;
  /** slot [1, N]: for each column j the t with idx[0, t] = j, or -1. Input `idx` [1, k]. */
  columnSlots(k: number, N: number): GpuProgram;
  /** rows [k, K] written into the columns of a zero [K, N] (or the rows of [N, K] when rowsOut) given `slot` [1, N]. */
  scatterColumns(k: number, K: number, N: number, rowsOut: boolean): GpuProgram;
}
