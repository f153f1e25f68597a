// The dW half of the unified backward on the `tensorflow` backend when the selection was made separately
// (MePropUnifiedGradB: the k slices, or their scatter into a dense gradient) and the scatter of given slices
// (MePropScatterColumns). The whole backward in one call, and dx, are in unified_backward.ts.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropScatterColumns, MePropScatterColumnsAttrs, MePropUnifiedGradB, MePropUnifiedGradBAttrs } from '../../kernel_names';
import { NativeScope, NativeTensor, withNativeScope } from './native_ops';

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
  { kernelName: MePropScatterColumns, backendName: 'tensorflow', kernelFunc: scatterColumns },
  { kernelName: MePropUnifiedGradB, backendName: 'tensorflow', kernelFunc: unifiedGradB },
];
