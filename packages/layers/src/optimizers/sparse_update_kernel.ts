// The lazy optimizers' step from sparse gradient slices (@meprop/core's SparseSlices) on the `tensorflow`
// backend, as TensorFlow ops: gather the touched columns (or rows) of the weight and its slots, update
// them, scatter them back. The dense [in, out] gradient is never built; the work on the weight is a gather
// and a scatter of k slices plus one copy per output (tfjs-node's tensors are immutable).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { NativeScope, NativeTensor, withNativeScope } from '@meprop/core';
import type { MePropLazyUpdateAttrs } from '../kernels/kernel_names';

/**
 * Inputs {value [R, C], indices int32 [n], rows [n, L], slot0?, slot1?}; outputs [value, ...slots]. Slices
 * along `axis` (0: rows of the weight, 1: columns, given as rows [n, R]). Duplicate indices (several
 * contributions) are summed first unless `unique`. A slice whose gradient is all zero is skipped, as the
 * dense lazy step skips an all-zero column, so both paths give the same numbers.
 */
export const MePropSparseLazyUpdate = 'MePropSparseLazyUpdate';
export interface MePropSparseLazyUpdateAttrs extends MePropLazyUpdateAttrs, NamedAttrMap {
  axis: 0 | 1;
  unique: boolean;
}

function binary(s: NativeScope, op: string, a: number, b: number): number {
  return s.op1(op, [s.type('T', 'float32')], [a, b]).id;
}

function unary(s: NativeScope, op: string, a: number): number {
  return s.op1(op, [s.type('T', 'float32')], [a]).id;
}

/** The rule on gathered slices: [value, ...slots] after one step (same operation order as the cpu kernel). */
function step(s: NativeScope, a: MePropSparseLazyUpdateAttrs, g: number, w: number, slots: number[]): number[] {
  const mul = (x: number, y: number) => binary(s, 'Mul', x, y);
  const add = (x: number, y: number) => binary(s, 'AddV2', x, y);
  const div = (x: number, y: number) => binary(s, 'RealDiv', x, y);
  const sub = (x: number, y: number) => binary(s, 'Sub', x, y);
  const c = (v: number) => s.float32(v);
  if (a.rule === 'adam') {
    const [m, v] = slots;
    const m2 = add(mul(m, c(a.beta1)), mul(g, c(1 - a.beta1)));
    const v2 = add(mul(v, c(a.beta2)), mul(mul(g, g), c(1 - a.beta2)));
    const stepSize = div(mul(c(a.learningRate), div(m2, c(a.correction1))), add(unary(s, 'Sqrt', div(v2, c(a.correction2))), c(a.epsilon)));
    return [sub(w, stepSize), m2, v2];
  }
  if (a.rule === 'adagrad') {
    const acc2 = add(slots[0], mul(g, g));
    return [sub(w, div(mul(c(a.learningRate), g), unary(s, 'Sqrt', add(acc2, c(a.epsilon))))), acc2];
  }
  return [sub(w, mul(c(a.learningRate), g))];
}

const sparseLazyUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as MePropSparseLazyUpdateAttrs;
  const { value, indices, rows } = inputs as Record<string, TensorInfo>;
  const slotInfos = [inputs.slot0, inputs.slot1].filter((t): t is TensorInfo => t !== undefined);
  return withNativeScope(backend, (s) => {
    let idx: NativeTensor = { id: s.input(indices), shape: indices.shape, dtype: 0 };
    let r = s.input(rows);
    if (!a.unique) {
      const [uniq, pos] = s.op('Unique', [s.type('T', 'int32'), s.type('out_idx', 'int32')], [idx.id], 2);
      const count = s.op1('Size', [s.type('T', 'int32'), s.type('out_type', 'int32')], [uniq.id]);
      r = s.op1('UnsortedSegmentSum', [s.type('T', 'float32'), s.type('Tindices', 'int32'), s.type('Tnumsegments', 'int32')], [r, pos.id, count.id]).id;
      idx = uniq;
    }
    const n = idx.shape[0];
    const R = value.shape[0];
    // Work in the weight's own layout: [R, n] columns (axis 1) or [n, C] rows (axis 0).
    const g = a.axis === 1 ? s.transpose2D(r).id : r;
    const targets = [value, ...slotInfos].map((t) => s.input(t));
    const old = targets.map((t) => s.gather(t, idx.id, a.axis).id);
    let next = step(s, a, g, old[0], old.slice(1));
    if (a.lazy) {
      // A slice takes part when any entry of its gradient is non-zero (NaN counts: it must propagate).
      const nonZero = s.op1('LogicalOr', [], [s.op1('NotEqual', [s.type('T', 'float32'), s.bool('incompatible_shape_error', true)], [g, s.scalarFloat32(0)]).id, unary(s, 'IsNan', g)]);
      const touched = s.op1('Any', [s.bool('keep_dims', true), s.type('Tidx', 'int32')], [nonZero.id, s.scalarInt32(a.axis === 1 ? 0 : 1)]);
      next = next.map((t, i) => s.op1('SelectV2', [s.type('T', 'float32')], [touched.id, t, old[i]]).id);
    }
    const where = a.axis === 1 ? s.pairs(idx.id, R, n, true).id : s.reshape(idx.id, [n, 1], 'int32').id;
    return next.map((t, i) => {
      const updates = a.axis === 1 ? s.reshape(t, [R * n]).id : t;
      return s.output(s.op1('TensorScatterUpdate', [s.type('T', 'float32'), s.type('Tindices', 'int32')], [targets[i], where, updates]));
    });
  });
};

const config: KernelConfig = { kernelName: MePropSparseLazyUpdate, backendName: 'tensorflow', kernelFunc: sparseLazyUpdate };
if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);

/** Whether the active backend updates from sparse slices (then the optimizers collect them). */
export function hasSparseLazyUpdate(): boolean {
  return tf.getKernel(MePropSparseLazyUpdate, tf.getBackend()) !== undefined;
}
