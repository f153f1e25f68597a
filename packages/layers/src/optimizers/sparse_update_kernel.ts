// The lazy optimizers' step from sparse gradient slices (@meprop/core's SparseSlices) on the `tensorflow`
// backend, as TensorFlow ops: gather the touched columns (or rows) of the weight and its slots, update
// them, scatter them back. The dense [in, out] gradient is never built; the work on the weight is a gather
// and a scatter of k slices plus one copy per output (tfjs-node's tensors are immutable).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { NativeScope, NativeTensor, NativeVariable, withNativeScope } from '@meprop/core';
import type { LazyRule, LazyStepParams, MePropLazyUpdateAttrs } from '../kernels/kernel_names';
import { binary, step } from './native_rules';

/**
 * The lazy step from slices with the slots as tensors (webgl, webgpu; kernels/gpu): inputs {value [R, C],
 * indices int32 [n], rows [n, L], slot0?, slot1?}, outputs [value, ...slots]. Slices along `axis` (0: rows of
 * the weight, 1: columns, given as rows [n, R]); for axis 1 the slots are stored transposed ([C, R]). Duplicate
 * indices (several contributions) are summed first unless `unique`. A slice whose gradient is all zero is
 * skipped, as the dense lazy step skips an all-zero column, so both paths give the same numbers.
 */
export const MePropSparseLazyUpdate = 'MePropSparseLazyUpdate';
export interface MePropSparseLazyUpdateAttrs extends MePropLazyUpdateAttrs, NamedAttrMap {
  axis: 0 | 1;
  unique: boolean;
}

/**
 * The same step on `tensorflow`, with the slots as TensorFlow resource variables in the attrs (`slots`),
 * updated in place; inputs {value, indices, rows}, output [value]. For axis 1 the slots hold their transpose
 * ([C, R]), so that every slot access is a gather and a scatter of whole rows (contiguous), not of scattered
 * single entries; the optimizer keeps track of that layout. In place matters: a tfjs-node tensor cannot change,
 * so an update made as a new tensor copies the whole slot (two per weight for Adam) every step, while
 * ResourceScatterUpdate writes the n rows only.
 */
export const MePropSparseLazyUpdateInPlace = 'MePropSparseLazyUpdateInPlace';
export interface MePropSparseLazyUpdateInPlaceAttrs extends LazyStepParams {
  rule: LazyRule;
  rows: number;
  cols: number;
  lazy: boolean;
  axis: 0 | 1;
  unique: boolean;
  slots: NativeVariable[];
}

function scatterRows(s: NativeScope, target: number, idx: number, n: number, rows: number): NativeTensor {
  return s.op1(
    'TensorScatterUpdate',
    [s.type('T', 'float32'), s.type('Tindices', 'int32')],
    [target, s.reshape(idx, [n, 1], 'int32').id, rows],
  );
}

/**
 * w [R, C] minus delta [n, R] in the columns idx: one SparseTensorDenseAdd of -delta at the flat offsets
 * r * C + idx[t] of w, i.e. a copy of w plus n * R scalar additions (about a third of the time of building
 * the dense [R, C] update and subtracting it, which passes over w three times). Exact for every value
 * (w + (-d) is w - d in IEEE arithmetic; a NaN or infinity in delta reaches only its own entry), no host read.
 */
function subtractColumns(s: NativeScope, w: number, idx: number, delta: number, R: number, C: number, n: number): NativeTensor {
  if (R * C >= 2 ** 31) {
    // Flat int32 offsets would overflow: subtract the dense update instead (same result, slower).
    const dense = s.denseFromColumns(delta, idx, R, C, n, true);
    return s.op1('Sub', [s.type('T', 'float32')], [w, dense.id]);
  }
  // Offsets laid out like delta [n, R]: entry (t, r) is r * C + idx[t].
  const offsets = s.op1('AddV2', [s.type('T', 'int32')], [s.reshape(idx, [n, 1], 'int32').id, s.rowOffsets(R, C, true)]);
  const negated = s.op1('Neg', [s.type('T', 'float32')], [delta]);
  const flat = s.op1(
    'SparseTensorDenseAdd',
    [s.type('T', 'float32'), s.type('Tindices', 'int32')],
    [
      s.reshape(offsets.id, [n * R, 1], 'int32').id,
      s.reshape(negated.id, [n * R]).id,
      s.constInt32([1], [R * C]),
      s.reshape(w, [R * C]).id,
    ],
  );
  return s.reshape(flat.id, [R, C]);
}

const sparseLazyUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as MePropSparseLazyUpdateInPlaceAttrs;
  const { value, indices, rows } = inputs as Record<string, TensorInfo>;
  return withNativeScope(backend, (s) => {
    let idx: NativeTensor = { id: s.input(indices), shape: indices.shape, dtype: 0 };
    let g = s.input(rows); // [n, L]
    if (!a.unique) {
      const [uniq, pos] = s.op('Unique', [s.type('T', 'int32'), s.type('out_idx', 'int32')], [idx.id], 2);
      const count = s.op1('Size', [s.type('T', 'int32'), s.type('out_type', 'int32')], [uniq.id]);
      g = s.op1(
        'UnsortedSegmentSum',
        [s.type('T', 'float32'), s.type('Tindices', 'int32'), s.type('Tnumsegments', 'int32')],
        [g, pos.id, count.id],
      ).id;
      idx = uniq;
    }
    const n = idx.shape[0];
    const [R, C] = value.shape;
    const w = s.input(value);
    // Rows of the slots: [C, R] (axis 1, stored transposed) or [R, C].
    const oldSlots = a.slots.map((v) => v.gatherRows(s, idx.id).id);
    let { delta, slots: newSlots } = step(s, a, g, oldSlots);
    if (a.lazy) {
      // A slice takes part when any entry of its gradient is non-zero (NaN counts, as NaN != 0: it must
      // propagate).
      const nonZero = s.op1(
        'NotEqual',
        [s.type('T', 'float32'), s.bool('incompatible_shape_error', true)],
        [g, s.scalarFloat32(0)],
      );
      const touched = s.op1('Any', [s.bool('keep_dims', true), s.type('Tidx', 'int32')], [nonZero.id, s.scalarInt32(1)]).id; // [n, 1]
      const keep = (t: number, old: number) => s.op1('SelectV2', [s.type('T', 'float32')], [touched, t, old]).id;
      delta = keep(delta, s.scalarFloat32(0));
      newSlots = newSlots.map((t, i) => keep(t, oldSlots[i]));
    }
    const nextW =
      a.axis === 1
        ? subtractColumns(s, w, idx.id, delta, R, C, n)
        : scatterRows(s, w, idx.id, n, binary(s, 'Sub', s.gather(w, idx.id, 0).id, delta));
    newSlots.forEach((t, i) => a.slots[i].scatterRows(s, idx.id, t));
    return [s.output(nextW)];
  });
};

const config: KernelConfig = {
  kernelName: MePropSparseLazyUpdateInPlace,
  backendName: 'tensorflow',
  kernelFunc: sparseLazyUpdate,
};
if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);

/** Whether the active backend updates from sparse slices in place (tensorflow). */
export function hasInPlaceSparseLazyUpdate(): boolean {
  return tf.getKernel(MePropSparseLazyUpdateInPlace, tf.getBackend()) !== undefined;
}

/** Whether the active backend updates from sparse slices (then the optimizers collect them). */
export function hasSparseLazyUpdate(): boolean {
  return hasInPlaceSparseLazyUpdate() || tf.getKernel(MePropSparseLazyUpdate, tf.getBackend()) !== undefined;
}

/** A copy of a NativeVariable's value as a tfjs tensor (attrs {variable}; no inputs). */
export const MePropReadNativeVariable = 'MePropReadNativeVariable';
const readConfig: KernelConfig = {
  kernelName: MePropReadNativeVariable,
  backendName: 'tensorflow',
  kernelFunc: ({ backend, attrs }) =>
    withNativeScope(backend, (s) => s.output((attrs as unknown as { variable: NativeVariable }).variable.read(s))),
};
if (tf.getKernel(readConfig.kernelName, readConfig.backendName) === undefined) tf.registerKernel(readConfig);

/**
 * The value of `v` as a new tfjs tensor (the caller owns it). On `tensorflow` a native copy; if another backend
 * became active since the slot was made, through JavaScript (a rare path: one copy).
 */
export function readNativeVariable(v: NativeVariable): tf.Tensor {
  if (tf.getKernel(MePropReadNativeVariable, tf.getBackend()) === undefined) return tf.tensor(v.readSync(), v.shape, 'float32');
  return tf.engine().runKernel(MePropReadNativeVariable, {}, { variable: v } as unknown as NamedAttrMap) as tf.Tensor;
}
