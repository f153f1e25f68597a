// meProp's kernels for GPU backends (webgl, webgpu): the selection and both sparse products run as shader
// programs on the backend's own buffers, so a backward reads nothing back to the host (random mode draws its
// indices on the host from the seed and uploads them; dy stays on the device).
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  MePropGatherColumns,
  MePropGatherColumnsAttrs,
  MePropScatterColumns,
  MePropScatterColumnsAttrs,
  MePropSelect,
  MePropSelectAttrs,
  MePropSparseGradA,
  MePropSparseGradAttrs,
  MePropSparseGradB,
} from '../../kernel_names';
import { selectKept } from '../host/top_k';
import type { GpuProgram, GpuPrograms } from './gpu_programs';

/** How a backend runs a program, uploads host data and frees intermediates. */
export interface GpuRunner {
  run(backend: unknown, program: GpuProgram, inputs: TensorInfo[], dtype: DataType): TensorInfo;
  upload(backend: unknown, shape: number[], dtype: DataType, values: Int32Array | Float32Array): TensorInfo;
  dispose(backend: unknown, t: TensorInfo): void;
  /**
   * t in the layout the programs read (webgl: an unpacked texture; tfjs would otherwise unpack a packed input
   * again for every program that reads it). Returns t itself when nothing needs converting.
   */
  readable(backend: unknown, t: TensorInfo): TensorInfo;
}

/** Columns per block when the selection locates the t-th kept entry of a row (at most 64: see blockCounts). */
const KEPT_BLOCK = 64;

/** Columns per block in the two-level prefix sum of column counts. */
const OFFSET_BLOCK = 64;

export function gpuKernelConfigs(backendName: string, programs: GpuPrograms, gpu: GpuRunner): KernelConfig[] {
  const select: KernelFunc = ({ inputs, backend, attrs }) => {
    const input = inputs.dy as TensorInfo;
    const { k, mode, seed } = attrs as unknown as MePropSelectAttrs;
    // Several programs read dy: convert it once.
    const dy = gpu.readable(backend, input);
    const [M, N] = dy.shape;
    let indices: TensorInfo;
    if (mode === 'random') {
      // Only the indices come from the host generator (same draws as the cpu kernel); dy is never read.
      const idx = new Int32Array(M * k);
      selectKept(new Float32Array(M * N), M, N, k, 'random', seed, idx, new Float32Array(M * k));
      indices = gpu.upload(backend, [M, k], 'int32', idx);
    } else {
      // Unified mode ranks one row (the column scores) and copies its k columns to every row.
      const unified = mode === 'unified';
      const R = unified ? 1 : M;
      const ranked = unified ? gpu.run(backend, programs.columnScore(M, N), [dy], 'float32') : dy;
      const at = gpu.run(backend, programs.kthLargest(R, N, k), [ranked], 'int32');
      const ties = gpu.run(backend, programs.rowTies(R, N, k), [ranked, at], 'int32');
      const blocks = gpu.run(backend, programs.blockCounts(R, N, KEPT_BLOCK), [ranked, at], 'int32');
      const kept = gpu.run(backend, programs.keptIndices(R, N, k, KEPT_BLOCK), [ranked, at, ties, blocks], 'int32');
      [at, ties, blocks].forEach((t) => gpu.dispose(backend, t));
      if (unified) {
        gpu.dispose(backend, ranked);
        indices = gpu.run(backend, programs.tileRow(M, k), [kept], 'int32');
        gpu.dispose(backend, kept);
      } else {
        indices = kept;
      }
    }
    const values = gpu.run(backend, programs.gatherKept(M, N, k), [dy, indices], 'float32');
    if (dy !== input) gpu.dispose(backend, dy);
    return [indices, values];
  };
  const gradA: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, b } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, K, N } = attrs as unknown as MePropSparseGradAttrs;
    const k = indices.shape[1];
    if (!transposeB && programs.transpose !== undefined) {
      const bt = gpu.run(backend, programs.transpose(K, N), [b], 'float32');
      const out = gpu.run(backend, programs.sparseGradA(M, K, N, k, transposeA, true), [indices, values, bt], 'float32');
      gpu.dispose(backend, bt);
      return out;
    }
    return gpu.run(backend, programs.sparseGradA(M, K, N, k, transposeA, transposeB), [indices, values, b], 'float32');
  };
  const gradB: KernelFunc = ({ inputs, backend, attrs }) => {
    // No scatter-add in these shader models: the kept entries are laid out densely, regrouped by column
    // (counts, prefix sums, then the row of each entry), and every output entry sums its column's few entries:
    // about M*k*K multiply-adds plus M*N bookkeeping instead of the M*K*N of a dense matmul.
    const { indices, values, a } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, K, N } = attrs as unknown as MePropSparseGradAttrs;
    const k = indices.shape[1];
    const dense = gpu.run(backend, programs.densifyKept(M, N, k), [indices, values], 'float32');
    const counts = gpu.run(backend, programs.columnCounts(M, N), [dense], 'int32');
    const sums = gpu.run(backend, programs.blockSums(N, OFFSET_BLOCK), [counts], 'int32');
    const offsets = gpu.run(backend, programs.columnOffsets(N, OFFSET_BLOCK), [counts, sums], 'int32');
    if (programs.columnEntryPairs !== undefined && programs.sparseGradBPairs !== undefined) {
      const pairs = gpu.run(backend, programs.columnEntryPairs(M, N, k), [dense, offsets, counts], 'float32');
      const db = gpu.run(
        backend,
        programs.sparseGradBPairs(M, K, N, transposeA, transposeB),
        [a, pairs, offsets, counts],
        'float32',
      );
      [dense, counts, sums, offsets, pairs].forEach((t) => gpu.dispose(backend, t));
      return db;
    }
    const rowOf = gpu.run(backend, programs.columnEntries(M, N, k), [dense, offsets, counts], 'int32');
    const out = gpu.run(
      backend,
      programs.sparseGradBColumns(M, K, N, transposeA, transposeB),
      [a, dense, rowOf, offsets, counts],
      'float32',
    );
    [dense, counts, sums, offsets, rowOf].forEach((t) => gpu.dispose(backend, t));
    return out;
  };
  const gather: KernelFunc = ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs as Record<string, TensorInfo>;
    const { axis } = attrs as unknown as MePropGatherColumnsAttrs;
    const k = indices.shape[0];
    const idx2D: TensorInfo = { dataId: indices.dataId, shape: [1, k], dtype: indices.dtype };
    return gpu.run(backend, programs.gatherAxis(x.shape[0], x.shape[1], k, axis), [x, idx2D], x.dtype);
  };
  const scatter: KernelFunc = ({ inputs, backend, attrs }) => {
    const { rows, indices } = inputs as Record<string, TensorInfo>;
    const { N, rowsOut } = attrs as unknown as MePropScatterColumnsAttrs;
    const [k, K] = rows.shape;
    // The programs read indices as rows of a 2-D tensor: view the [k] vector as [1, k] (same buffer).
    const idx2D: TensorInfo = { dataId: indices.dataId, shape: [1, k], dtype: indices.dtype };
    // Each output entry looks its column up in a [N] slot map instead of searching the k indices.
    const slot = gpu.run(backend, programs.columnSlots(k, N), [idx2D], 'int32');
    const out = gpu.run(backend, programs.scatterColumns(k, K, N, rowsOut), [rows, slot], 'float32');
    gpu.dispose(backend, slot);
    return out;
  };
  return [
    { kernelName: MePropGatherColumns, backendName, kernelFunc: gather },
    { kernelName: MePropScatterColumns, backendName, kernelFunc: scatter },
    { kernelName: MePropSelect, backendName, kernelFunc: select },
    { kernelName: MePropSparseGradA, backendName, kernelFunc: gradA },
    { kernelName: MePropSparseGradB, backendName, kernelFunc: gradB },
  ];
}
