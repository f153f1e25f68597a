// Kernel configs for backends whose tensor memory JavaScript can read and write directly (cpu, wasm).
// Each backend supplies an adapter; the math lives in top_k.ts and sparse_matmul_grad.ts.
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  MePropScatterColumns,
  MePropScatterColumnsAttrs,
  MePropSelect,
  MePropSelectAttrs,
  MePropSparseGradA,
  MePropSparseGradAttrs,
  MePropSparseGradB,
} from '../../kernel_names';
import { sparseGradA, sparseGradB } from './sparse_matmul_grad';
import { selectKept } from './top_k';

export interface HostMemoryAdapter {
  /** Allocates outputs. Called before any `view`, because an allocation may move the wasm heap. */
  alloc(backend: unknown, shape: number[], dtype: DataType): TensorInfo;
  /** A typed-array view of a tensor's memory (inputs and freshly allocated outputs). */
  view(backend: unknown, t: TensorInfo): Float32Array | Int32Array;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function hostKernelConfigs(backendName: string, mem: HostMemoryAdapter): KernelConfig[] {
  const select: KernelFunc = ({ inputs, backend, attrs }) => {
    const dy = inputs.dy as TensorInfo;
    const { k, mode, seed } = attrs as unknown as MePropSelectAttrs;
    const [M, N] = dy.shape;
    const idxInfo = mem.alloc(backend, [M, k], 'int32');
    const valInfo = mem.alloc(backend, [M, k], 'float32');
    const dyv = mem.view(backend, dy);
    const idx = mem.view(backend, idxInfo) as Int32Array;
    const val = mem.view(backend, valInfo) as Float32Array;
    selectKept(dyv, M, N, k, mode, seed, idx, val);
    return [idxInfo, valInfo];
  };
  const gradA: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, b } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, K, N, shared } = attrs as unknown as MePropSparseGradAttrs;
    const out = mem.alloc(backend, transposeA ? [K, M] : [M, K], 'float32');
    const o = mem.view(backend, out) as Float32Array;
    o.fill(0);
    const idx = mem.view(backend, indices) as Int32Array;
    const val = mem.view(backend, values) as Float32Array;
    sparseGradA({ idx, val, M, k: indices.shape[1], shared }, mem.view(backend, b), K, N, transposeA, transposeB, o);
    return out;
  };
  const gradB: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, a } = inputs as Record<string, TensorInfo>;
    const { transposeA, transposeB, M, K, N, shared } = attrs as unknown as MePropSparseGradAttrs;
    const out = mem.alloc(backend, transposeB ? [N, K] : [K, N], 'float32');
    const o = mem.view(backend, out) as Float32Array;
    o.fill(0);
    const idx = mem.view(backend, indices) as Int32Array;
    const val = mem.view(backend, values) as Float32Array;
    sparseGradB({ idx, val, M, k: indices.shape[1], shared }, mem.view(backend, a), K, N, transposeA, transposeB, o);
    return out;
  };
  const scatter: KernelFunc = ({ inputs, backend, attrs }) => {
    const { rows, indices } = inputs as Record<string, TensorInfo>;
    const { N, rowsOut } = attrs as unknown as MePropScatterColumnsAttrs;
    const [k, K] = rows.shape;
    const out = mem.alloc(backend, rowsOut ? [N, K] : [K, N], 'float32');
    const o = mem.view(backend, out) as Float32Array;
    o.fill(0);
    const src = mem.view(backend, rows) as Float32Array;
    const idx = mem.view(backend, indices) as Int32Array;
    for (let t = 0; t < k; t++) {
      const j = idx[t];
      if (rowsOut) {
        o.set(src.subarray(t * K, (t + 1) * K), j * K);
      } else {
        for (let i = 0; i < K; i++) o[i * N + j] = src[t * K + i];
      }
    }
    return out;
  };
  return [
    { kernelName: MePropScatterColumns, backendName, kernelFunc: scatter },
    { kernelName: MePropSelect, backendName, kernelFunc: select },
    { kernelName: MePropSparseGradA, backendName, kernelFunc: gradA },
    { kernelName: MePropSparseGradB, backendName, kernelFunc: gradB },
  ];
}

export { size as shapeSize };
