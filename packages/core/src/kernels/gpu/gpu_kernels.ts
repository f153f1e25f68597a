// meProp's kernels for GPU backends (webgl, webgpu): the selection and both sparse products run as shader
// programs on the backend's own buffers, so a backward reads nothing back to the host (random mode draws its
// indices on the host from the seed and uploads them; dy stays on the device).
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import {
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
}

/** db from a dense kept-dy, as tfjs's own matmul gradient lays it out (see exactMatMulGrads). */
function denseGradB(backendName: string, backend: unknown, a: TensorInfo, dyKept: TensorInfo, tA: boolean, tB: boolean): TensorInfo {
  const matMul = tf.getKernel('BatchMatMul', backendName);
  if (matMul === undefined) throw new Error(`meProp ${backendName} kernel: the backend has no BatchMatMul kernel`);
  const [x, y, transposeA, transposeB] = !tB ? (tA ? [a, dyKept, false, false] : [a, dyKept, true, false]) : tA ? [dyKept, a, true, true] : [dyKept, a, true, false];
  const out = matMul.kernelFunc({ inputs: { a: x, b: y }, backend: backend as never, attrs: { transposeA, transposeB } });
  return out as TensorInfo;
}

export function gpuKernelConfigs(backendName: string, programs: GpuPrograms, gpu: GpuRunner): KernelConfig[] {
  const select: KernelFunc = ({ inputs, backend, attrs }) => {
    const dy = inputs.dy as TensorInfo;
    const { k, mode, seed } = attrs as unknown as MePropSelectAttrs;
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
      const kept = gpu.run(backend, programs.keptIndices(R, N, k), [ranked, at, ties], 'int32');
      [at, ties].forEach((t) => gpu.dispose(backend, t));
      if (unified) {
        gpu.dispose(backend, ranked);
        indices = gpu.run(backend, programs.tileRow(M, k), [kept], 'int32');
        gpu.dispose(backend, kept);
      } else {
        indices = kept;
      }
    }
    const values = gpu.run(backend, programs.gatherKept(M, N, k), [dy, indices], 'float32');
    return [indices, values];
  };
  const gradA: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, b } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, K, N } = attrs as unknown as MePropSparseGradAttrs;
    return gpu.run(backend, programs.sparseGradA(M, K, N, indices.shape[1], transposeA, transposeB), [indices, values, b], 'float32');
  };
  const gradB: KernelFunc = ({ inputs, backend, attrs }) => {
    // No scatter-add in WebGL: the kept entries are laid out densely ([M, N], M*N*log k work) and the backend's
    // own matmul does the product. dx (gradA) is where the sparse saving is on these backends.
    const { indices, values, a } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, N } = attrs as unknown as MePropSparseGradAttrs;
    const dense = gpu.run(backend, programs.densifyKept(M, N, indices.shape[1]), [indices, values], 'float32');
    const out = denseGradB(backendName, backend, a, dense, transposeA, transposeB);
    gpu.dispose(backend, dense);
    return out;
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
    { kernelName: MePropScatterColumns, backendName, kernelFunc: scatter },
    { kernelName: MePropSelect, backendName, kernelFunc: select },
    { kernelName: MePropSparseGradA, backendName, kernelFunc: gradA },
    { kernelName: MePropSparseGradB, backendName, kernelFunc: gradB },
  ];
}
