// The products of meProp's unified backward on the `tensorflow` backend: da from the k kept columns
// (gather + one small matmul, in one kernel so the gather never reads its indices on the host, as
// tfjs-node's own GatherV2 kernel does), and the scatter of the k weight-gradient slices into a dense
// gradient when one is needed.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  MePropGatherMatMul,
  MePropGatherMatMulAttrs,
  MePropScatterColumns,
  MePropScatterColumnsAttrs,
  MePropUnifiedGradB,
  MePropUnifiedGradBAttrs,
} from '../../kernel_names';
import { NativeScope, NativeTensor, withNativeScope } from './native_ops';

const gatherMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { values, indices, b } = inputs as Record<string, TensorInfo>;
  const { transposeA, transposeB } = attrs as unknown as MePropGatherMatMulAttrs;
  return withNativeScope(backend, (s) => {
    const v = s.input(values); // [M, k]
    // The kept columns of op(b) = W [K, N]: columns of b, or rows of b when it is stored transposed.
    const wk = s.gather(s.input(b), s.input(indices), transposeB ? 0 : 1); // [K, k] or [k, K]
    // dX [M, K] = v @ W_kᵀ; when a is stored transposed, produce dXᵀ [K, M] = W_k @ vᵀ directly.
    const dx = transposeA ? s.matMul(wk.id, v, transposeB, true) : s.matMul(v, wk.id, false, !transposeB);
    return s.output(dx);
  });
};

/**
 * The k slices scattered into a dense gradient: rows [k, K] into the rows of [N, K] (rowsOut), or columns
 * [K, k] into the columns of [K, N]. Both write zeros and k slices, nothing more, and copy every kept entry
 * as is: a NaN stays in its place, nothing is smeared, and nothing is read back to the host.
 */
function scatter(s: NativeScope, slices: number, idx: number, k: number, K: number, N: number, rowsOut: boolean): NativeTensor {
  if (rowsOut) return s.scatterNd(s.reshape(idx, [k, 1], 'int32').id, slices, [N, K]);
  return s.denseFromColumns(slices, idx, K, N, k);
}

const scatterColumns: KernelFunc = ({ inputs, backend, attrs }) => {
  const { rows, indices } = inputs as Record<string, TensorInfo>;
  const { N, rowsOut } = attrs as unknown as MePropScatterColumnsAttrs;
  const [k, K] = rows.shape;
  return withNativeScope(backend, (s) => {
    const r = s.input(rows);
    const idx = s.input(indices);
    return s.output(rowsOut ? scatter(s, r, idx, k, K, N, true) : s.denseFromColumns(r, idx, K, N, k, true));
  });
};

const unifiedGradB: KernelFunc = ({ inputs, backend, attrs }) => {
  const { values, indices, a } = inputs as Record<string, TensorInfo>;
  const { transposeA, transposeB, N, dense } = attrs as unknown as MePropUnifiedGradBAttrs;
  const k = values.shape[1];
  const K = transposeA ? a.shape[0] : a.shape[1];
  return withNativeScope(backend, (s) => {
    const v = s.input(values);
    const x = s.input(a);
    // The slices as rows [k, K] = valuesᵀ @ op(a) (what an optimizer takes, and rows of a [N, K] weight), or
    // straight as the columns [K, k] = op(a)ᵀ @ values of a [K, N] weight: no transpose.
    if (!dense) return s.output(s.matMul(v, x, true, transposeA));
    const slices = transposeB ? s.matMul(v, x, true, transposeA) : s.matMul(x, v, !transposeA, false);
    return s.output(scatter(s, slices.id, s.input(indices), k, K, N, transposeB));
  });
};

export const tensorflowUnifiedConfigs: KernelConfig[] = [
  { kernelName: MePropGatherMatMul, backendName: 'tensorflow', kernelFunc: gatherMatMul },
  { kernelName: MePropScatterColumns, backendName: 'tensorflow', kernelFunc: scatterColumns },
  { kernelName: MePropUnifiedGradB, backendName: 'tensorflow', kernelFunc: unifiedGradB },
];
