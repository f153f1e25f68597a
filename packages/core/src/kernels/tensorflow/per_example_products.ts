// The products of meProp's per-example (and random) backward on the `tensorflow` backend: the kept entries
// form a SparseTensor (M*k (row, column) pairs), and TensorFlow's SparseTensorDenseMatMul multiplies it
// with the dense operand, M*k*K multiply-adds per product instead of M*N*K.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropSparseGradA, MePropSparseGradAttrs, MePropSparseGradB } from '../../kernel_names';
import { NativeScope, NativeTensor, withNativeScope } from './native_ops';

/** Sparse dy [M, N] times a dense operand: S @ op(d) (or Sᵀ @ op(d) with adjointA). */
function sparseDenseMatMul(
  s: NativeScope,
  indices: TensorInfo,
  values: TensorInfo,
  a: MePropSparseGradAttrs,
  dense: number,
  adjointA: boolean,
  adjointB: boolean,
): NativeTensor {
  const k = indices.shape[1];
  const pairs = s.pairs(s.input(indices), a.M, k, a.shared);
  const v = s.reshape(s.input(values), [a.M * k]);
  const attrs = [
    s.type('T', 'float32'),
    s.type('Tindices', 'int32'),
    s.bool('adjoint_a', adjointA),
    s.bool('adjoint_b', adjointB),
  ];
  return s.op1('SparseTensorDenseMatMul', attrs, [pairs.id, v.id, s.constInt64([a.M, a.N]), dense]);
}

const gradA: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, b } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseGradAttrs;
  return withNativeScope(backend, (s) => {
    // dX [M, K] = S @ Wᵀ, W = op(b) [K, N]: b itself when stored [N, K], else its adjoint.
    const dx = sparseDenseMatMul(s, indices, values, a, s.input(b), false, !a.transposeB);
    return s.output(a.transposeA ? s.transpose2D(dx.id) : dx);
  });
};

const gradB: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, a: x } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseGradAttrs;
  return withNativeScope(backend, (s) => {
    // dWᵀ [N, K] = Sᵀ @ X, X = op(a) [M, K]: a itself, or its adjoint when stored [K, M].
    const dwt = sparseDenseMatMul(s, indices, values, a, s.input(x), true, a.transposeA);
    return s.output(a.transposeB ? dwt : s.transpose2D(dwt.id));
  });
};

export const tensorflowPerExampleConfigs: KernelConfig[] = [
  { kernelName: MePropSparseGradA, backendName: 'tensorflow', kernelFunc: gradA },
  { kernelName: MePropSparseGradB, backendName: 'tensorflow', kernelFunc: gradB },
];
