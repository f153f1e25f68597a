// The products of meProp's per-example (and random) backward on the `tensorflow` backend. Each row of dy
// keeps its own k entries, so the kept entries form a sparse [M, N] matrix S (M*k entries). Two ways to
// multiply with it, chosen per product by what TensorFlow's CPU kernels make cheap:
//  - SparseTensorDenseMatMul on the M*k (row, column) pairs: M*k*K multiply-adds, and the fastest when the
//    dense operand is used as stored and the result is wanted as produced (weights stored transposed, [N, K]).
//  - a dense MatMul with S written out as a dense [M, N] matrix (zeros plus M*k entries): when the weight is
//    stored [K, N] (Dense layers), SparseTensorDenseMatMul would need W transposed (its adjoint_b copies the
//    whole weight, transposed, on every call) and would give dWᵀ [N, K], which then needs a transpose of
//    its own. Each of those full transposes costs more than oneDNN's dense product at the sizes measured
//    (32x500x500 k=20 and 128x1024x1024 k=32), so there the dense product is used. The gradient is the
//    same either way: the product of the same sparse dy.
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

/** S written out as a dense [M, N] matrix: zeros, and each kept entry copied as is (NaN stays in place). */
function denseDy(s: NativeScope, indices: TensorInfo, values: TensorInfo, a: MePropSparseGradAttrs): NativeTensor {
  const k = indices.shape[1];
  const idx = s.input(indices);
  // Flat offsets m * N + idx[m, t], laid out like the values [M, k] (distinct: a row keeps distinct columns).
  if (a.M * a.N >= 2 ** 31) {
    const pairs = s.pairs(idx, a.M, k, a.shared);
    return s.sparseToDense(pairs.id, s.reshape(s.input(values), [a.M * k]).id, [a.M, a.N]);
  }
  const cols = a.shared ? s.reshape(idx, [1, k], 'int32').id : idx;
  const flat = s.op1('AddV2', [s.type('T', 'int32')], [s.rowOffsets(a.M, a.N, false), cols]);
  const d = s.sparseToDense(s.reshape(flat.id, [a.M * k], 'int32').id, s.reshape(s.input(values), [a.M * k]).id, [a.M * a.N]);
  return s.reshape(d.id, [a.M, a.N]);
}

const gradA: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, b } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseGradAttrs;
  return withNativeScope(backend, (s) => {
    const w = s.input(b);
    if (a.transposeB) {
      // b is [N, K] = Wᵀ: dX [M, K] = S @ b, the sparse product with b as stored.
      const dx = sparseDenseMatMul(s, indices, values, a, w, false, false);
      return s.output(a.transposeA ? s.transpose2D(dx.id) : dx);
    }
    // b is W [K, N]: dX = S_dense @ Wᵀ (or dXᵀ [K, M] = W @ S_denseᵀ when a is stored transposed).
    const d = denseDy(s, indices, values, a).id;
    return s.output(a.transposeA ? s.matMul(w, d, false, true) : s.matMul(d, w, false, true));
  });
};

const gradB: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, a: x } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseGradAttrs;
  return withNativeScope(backend, (s) => {
    const xi = s.input(x);
    if (a.transposeB) {
      // dWᵀ [N, K] = Sᵀ @ X, X = op(a) [M, K]: the gradient of b [N, K] as the sparse product gives it.
      return s.output(sparseDenseMatMul(s, indices, values, a, xi, true, a.transposeA));
    }
    // dW [K, N] = Xᵀ @ S_dense, X = op(a): a itself [M, K], or [K, M] when stored transposed.
    const d = denseDy(s, indices, values, a).id;
    return s.output(s.matMul(xi, d, !a.transposeA, false));
  });
};

export const tensorflowPerExampleConfigs: KernelConfig[] = [
  { kernelName: MePropSparseGradA, backendName: 'tensorflow', kernelFunc: gradA },
  { kernelName: MePropSparseGradB, backendName: 'tensorflow', kernelFunc: gradB },
];
