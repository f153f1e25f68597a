// Runs TensorFlow ops of tfjs-node's libtensorflow directly, on raw tensor handles, for meProp's kernels on
// the `tensorflow` backend. Each op through tfjs costs about 20-80 µs of JavaScript (engine bookkeeping,
// a tfjs Tensor per output, and for `gather` a host read of the indices for bounds checks); through the
// binding it costs about 5 µs, and intermediate results never become tfjs tensors. Typed structurally:
// no dependency on @tensorflow/tfjs-node (it is optional), checked at first use instead.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

import { asTfBackend, TfBackendLike } from '../../tfjs_internals';
import type { NativeAttr, NativeTensor, TfBinding } from '../../tfjs_internals';

export type { NativeAttr, NativeTensor, TfBinding } from '../../tfjs_internals';

/** Constant handles (shapes, axes, k) kept for the process: a few bytes each, never tfjs tensors. */
const constants = new Map<string, number>();

/**
 * One kernel invocation's native ops. `release()` deletes every handle the scope made except those turned
 * into tfjs outputs with `output()`; call it in a `finally`.
 */
export class NativeScope {
  private readonly be: TfBackendLike;
  private readonly owned: number[] = [];

  constructor(backend: unknown) {
    this.be = asTfBackend(backend);
  }

  get binding(): TfBinding {
    return this.be.binding;
  }

  /** The handle of a tfjs tensor (uploads pending host values first). Owned by tfjs: never released here. */
  input(t: TensorInfo): number {
    return this.be.getInputTensorIds([t])[0];
  }

  /** Runs one op; its outputs are released with the scope unless passed to output(). */
  op(name: string, attrs: NativeAttr[], inputs: number[], numOutputs = 1): NativeTensor[] {
    const out = this.be.binding.executeOp(name, attrs, inputs, numOutputs);
    for (const o of out) this.owned.push(o.id);
    return out;
  }

  /** Runs a single-output op. */
  op1(name: string, attrs: NativeAttr[], inputs: number[]): NativeTensor {
    return this.op(name, attrs, inputs, 1)[0];
  }

  /** Reads a bool scalar (a flag, never a data tensor). */
  readBool(id: number): boolean {
    return this.be.binding.tensorDataSync(id)[0] !== 0;
  }

  /** A cached int32 constant (a shape, an axis, k, a row-index table). */
  constInt32(shape: number[], values: ArrayLike<number>): number {
    const key = `${shape.join('x')}:${Array.prototype.join.call(values, ',')}`;
    let id = constants.get(key);
    if (id === undefined) {
      id = this.be.binding.createTensor(shape, this.be.binding.TF_INT32, Int32Array.from(values));
      constants.set(key, id);
    }
    return id;
  }

  /** A cached int32 scalar. */
  scalarInt32(v: number): number {
    return this.constInt32([], [v]);
  }

  /** A cached int64 vector (TensorFlow wants int64 dense shapes for sparse ops); values < 2^31. */
  constInt64(values: number[]): number {
    const key = `i64:${values.join(',')}`;
    let id = constants.get(key);
    if (id === undefined) {
      const words = new Int32Array(values.length * 2); // little-endian (low, high) pairs
      values.forEach((v, i) => (words[2 * i] = v));
      id = this.be.binding.createTensor([values.length], this.be.binding.TF_INT64, words);
      constants.set(key, id);
    }
    return id;
  }

  /** A cached int32 table [rows, k, 1] whose entry (r, t) is r: the row half of (row, column) pairs. */
  rowTable(rows: number, k: number): number {
    const key = `rowtable:${rows}x${k}`;
    let table = constants.get(key);
    if (table === undefined) {
      const v = new Int32Array(rows * k);
      for (let r = 0; r < rows; r++) v.fill(r, r * k, (r + 1) * k);
      table = this.be.binding.createTensor([rows, k, 1], this.be.binding.TF_INT32, v);
      constants.set(key, table);
    }
    return table;
  }

  /** A cached float32 scalar. */
  scalarFloat32(v: number): number {
    const key = `f:${Object.is(v, -0) ? '-0' : String(v)}`;
    let id = constants.get(key);
    if (id === undefined) {
      id = this.be.binding.createTensor([], this.be.binding.TF_FLOAT, Float32Array.of(v));
      constants.set(key, id);
    }
    return id;
  }

  /** A temporary float32 scalar (for values that change every call, e.g. Adam's bias corrections). */
  float32(v: number): number {
    const id = this.be.binding.createTensor([], this.be.binding.TF_FLOAT, Float32Array.of(v));
    this.owned.push(id);
    return id;
  }

  /** A temporary int32 tensor made from host values (released with the scope). */
  int32(shape: number[], values: Int32Array): number {
    const id = this.be.binding.createTensor(shape, this.be.binding.TF_INT32, values);
    this.owned.push(id);
    return id;
  }

  /** Takes ownership of handles made elsewhere (e.g. a graph run): released with the scope unless output. */
  own(handles: NativeTensor[]): NativeTensor[] {
    for (const h of handles) this.owned.push(h.id);
    return handles;
  }

  /** Hands a handle to tfjs as the kernel's output tensor. */
  output(t: NativeTensor): TensorInfo {
    const i = this.owned.indexOf(t.id);
    if (i >= 0) this.owned.splice(i, 1);
    return this.be.createOutputTensor(t);
  }

  release(): void {
    for (const id of this.owned) this.be.binding.deleteTensor(id);
    this.owned.length = 0;
  }

  // Attribute helpers.
  type(name: string, dtype: DataType): NativeAttr {
    const b = this.be.binding;
    const value = dtype === 'int32' ? b.TF_INT32 : dtype === 'bool' ? b.TF_BOOL : b.TF_FLOAT;
    return { name, type: b.TF_ATTR_TYPE, value };
  }

  bool(name: string, value: boolean): NativeAttr {
    return { name, type: this.be.binding.TF_ATTR_BOOL, value };
  }

  int(name: string, value: number): NativeAttr {
    return { name, type: this.be.binding.TF_ATTR_INT, value };
  }

  // The ops meProp uses, with their attributes filled in.
  matMul(a: number, b: number, transposeA: boolean, transposeB: boolean): NativeTensor {
    return this.op1(
      'MatMul',
      [this.type('T', 'float32'), this.bool('transpose_a', transposeA), this.bool('transpose_b', transposeB)],
      [a, b],
    );
  }

  /** GatherV2 along `axis` (no bounds check on the host: the indices come from TopKV2). */
  gather(params: number, indices: number, axis: number, batchDims = 0, dtype: DataType = 'float32'): NativeTensor {
    const attrs = [
      this.int('batch_dims', batchDims),
      this.type('Tparams', dtype),
      this.type('Tindices', 'int32'),
      this.type('Taxis', 'int32'),
    ];
    return this.op1('GatherV2', attrs, [params, indices, this.scalarInt32(axis)]);
  }

  reshape(x: number, shape: number[], dtype: DataType = 'float32'): NativeTensor {
    return this.op1(
      'Reshape',
      [this.type('T', dtype), this.type('Tshape', 'int32')],
      [x, this.constInt32([shape.length], shape)],
    );
  }

  transpose2D(x: number, dtype: DataType = 'float32'): NativeTensor {
    return this.op1('Transpose', [this.type('T', dtype), this.type('Tperm', 'int32')], [x, this.constInt32([2], [1, 0])]);
  }

  /**
   * TopKV2 over the last axis: [values, indices]. Unsorted: meProp only needs the set. Equal keys keep the
   * lower index (TensorFlow's TopK is stable), as the host kernels do.
   */
  topK(x: number, k: number, dtype: DataType = 'float32'): [NativeTensor, NativeTensor] {
    const [v, i] = this.op('TopKV2', [this.bool('sorted', false), this.type('T', dtype)], [x, this.scalarInt32(k)], 2);
    return [v, i];
  }

  /**
   * A float32 tensor of values >= 0 (or NaN with the sign bit clear) reinterpreted as int32 ranking keys.
   * For such values the bit patterns order exactly as the numbers do, and every NaN pattern (0x7F800001 and
   * up) lies above +Infinity (0x7F800000): ranking the keys ranks NaN first, so a NaN is always kept and
   * propagates, with no extra pass over the tensor to find it.
   */
  rankKeys(nonNegative: number): NativeTensor {
    return this.op1('Bitcast', [this.type('T', 'float32'), this.type('type', 'int32')], [nonNegative]);
  }

  /** Ranking keys of |x| (see rankKeys): Abs clears the sign bit of every entry, NaN included. */
  magnitude(x: number): NativeTensor {
    return this.rankKeys(this.op1('Abs', [this.type('T', 'float32')], [x]).id);
  }

  /**
   * Ranking keys of Σ|x| over the rows (see rankKeys): a NaN anywhere in a column makes its sum NaN (a sum of
   * non-negative terms never creates a NaN of its own, and keeps the sign bit of the NaN it carries clear),
   * so that column ranks first.
   */
  columnScore(x: number): NativeTensor {
    return this.rankKeys(this.sum(this.op1('Abs', [this.type('T', 'float32')], [x]).id, 0).id);
  }

  sum(x: number, axis: number): NativeTensor {
    return this.op1(
      'Sum',
      [this.bool('keep_dims', false), this.type('T', 'float32'), this.type('Tidx', 'int32')],
      [x, this.scalarInt32(axis)],
    );
  }

  scatterNd(indices: number, updates: number, shape: number[]): NativeTensor {
    return this.op1(
      'ScatterNd',
      [this.type('T', 'float32'), this.type('Tindices', 'int32')],
      [indices, updates, this.constInt32([shape.length], shape)],
    );
  }

  /**
   * A dense [K, N] matrix, zero except in the k columns `colIdx` [k]. Their values come as `cols` [K, k]
   * (column t of `cols` goes to column colIdx[t]) or, with `asRows`, as rows [k, K] (row t goes to column
   * colIdx[t]): either layout is read as is, no transpose. One SparseToDense over the flattened matrix: the
   * output is zero-filled and K*k entries are written, each copied as is (a NaN stays where it is). Far
   * cheaper than a one-hot matmul (K*k*N multiply-adds) or ScatterNd (several times the cost per entry).
   * The column indices must be distinct (they come from TopKV2).
   */
  denseFromColumns(cols: number, colIdx: number, K: number, N: number, k: number, asRows = false): NativeTensor {
    if (K * N >= 2 ** 31) {
      // Flat int32 offsets would overflow: (row, column) pairs instead (slower, same result).
      const c = asRows ? this.transpose2D(cols).id : cols;
      const pairs = this.pairs(colIdx, K, k, true);
      return this.sparseToDense(pairs.id, this.reshape(c, [K * k]).id, [K, N]);
    }
    // Flat offsets r * N + colIdx[t], laid out like the values: [K, k] or [k, K].
    const flat = asRows
      ? this.op1('AddV2', [this.type('T', 'int32')], [this.reshape(colIdx, [k, 1], 'int32').id, this.rowOffsets(K, N, true)])
      : this.op1('AddV2', [this.type('T', 'int32')], [this.rowOffsets(K, N, false), this.reshape(colIdx, [1, k], 'int32').id]);
    const dense = this.sparseToDense(this.reshape(flat.id, [K * k], 'int32').id, this.reshape(cols, [K * k]).id, [K * N]);
    return this.reshape(dense.id, [K, N]);
  }

  /** SparseToDense with distinct indices (not validated: they come from TopKV2), zeros elsewhere. */
  sparseToDense(indices: number, values: number, shape: number[]): NativeTensor {
    return this.op1(
      'SparseToDense',
      [this.bool('validate_indices', false), this.type('T', 'float32'), this.type('Tindices', 'int32')],
      [indices, this.constInt32([shape.length], shape), values, this.scalarFloat32(0)],
    );
  }

  /** A cached int32 column [K, 1] (or row [1, K]) of row offsets r * N into a flattened [K, N] matrix. */
  rowOffsets(K: number, N: number, asRow: boolean): number {
    const key = `rowoffsets:${K}x${N}:${asRow}`;
    let id = constants.get(key);
    if (id === undefined) {
      const offsets = Int32Array.from({ length: K }, (_, r) => r * N);
      id = this.be.binding.createTensor(asRow ? [1, K] : [K, 1], this.be.binding.TF_INT32, offsets);
      constants.set(key, id);
    }
    return id;
  }

  /**
   * (row, column) index pairs [rows * k, 2]: row r with each of its k column indices. `colIdx` is [k] (the
   * same columns for every row) or [rows, k] (per row).
   */
  pairs(colIdx: number, rows: number, k: number, shared: boolean): NativeTensor {
    let cols = this.reshape(colIdx, shared ? [1, k, 1] : [rows, k, 1], 'int32');
    if (shared)
      cols = this.op1(
        'BroadcastTo',
        [this.type('T', 'int32'), this.type('Tidx', 'int32')],
        [cols.id, this.constInt32([3], [rows, k, 1])],
      );
    const cat = this.op1(
      'ConcatV2',
      [this.int('N', 2), this.type('T', 'int32'), this.type('Tidx', 'int32')],
      [this.rowTable(rows, k), cols.id, this.scalarInt32(2)],
    );
    return this.reshape(cat.id, [rows * k, 2], 'int32');
  }
}

let resourceCount = 0;
const resourcePrefix = `meprop_${Math.floor(Math.random() * 0x7fffffff).toString(36)}_`;

/**
 * A float32 TensorFlow resource variable (VarHandleOp) owned by the caller: state that never becomes a tfjs
 * tensor, updated in place (ResourceScatterUpdate writes k rows, where updating a tfjs-node tensor copies it
 * whole). For optimizer slots on the `tensorflow` backend. `dispose()` destroys it; a disposed variable
 * throws on use.
 */
export class NativeVariable {
  private handle: number | null;
  readonly shape: number[];
  private readonly binding: TfBinding;

  /** A new variable holding a copy of `initial` (a float32 tfjs tensor of the active tfjs-node backend). */
  constructor(backend: unknown, initial: TensorInfo) {
    if (initial.dtype !== 'float32') throw new Error(`NativeVariable: initial must be float32, got ${initial.dtype}`);
    const be = asTfBackend(backend);
    const b = be.binding;
    this.binding = b;
    this.shape = initial.shape.slice();
    const attrs: NativeAttr[] = [
      { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'shape', type: b.TF_ATTR_SHAPE, value: this.shape },
      { name: 'container', type: b.TF_ATTR_STRING, value: '' },
      { name: 'shared_name', type: b.TF_ATTR_STRING, value: `${resourcePrefix}${resourceCount++}` },
    ];
    const handle = b.executeOp('VarHandleOp', attrs, [], 1)[0].id;
    try {
      b.executeOp('AssignVariableOp', [this.dtypeAttr()], [handle, be.getInputTensorIds([initial])[0]], 0);
    } catch (e) {
      b.deleteTensor(handle);
      throw e;
    }
    this.handle = handle;
  }

  private dtypeAttr(): NativeAttr {
    return { name: 'dtype', type: this.binding.TF_ATTR_TYPE, value: this.binding.TF_FLOAT };
  }

  /** The resource handle (an input of Resource* ops). */
  get id(): number {
    if (this.handle === null) throw new Error('NativeVariable: used after dispose()');
    return this.handle;
  }

  get isDisposed(): boolean {
    return this.handle === null;
  }

  /** Rows `indices` [n] (axis 0) of the variable, as a scope temporary [n, ...]. */
  gatherRows(s: NativeScope, indices: number): NativeTensor {
    const attrs = [s.int('batch_dims', 0), s.bool('validate_indices', true), this.dtypeAttr(), s.type('Tindices', 'int32')];
    return s.op1('ResourceGather', attrs, [this.id, indices]);
  }

  /** Writes `rows` [n, ...] into rows `indices` [n] (distinct), in place. */
  scatterRows(s: NativeScope, indices: number, rows: number): void {
    this.binding.executeOp('ResourceScatterUpdate', [this.dtypeAttr(), s.type('Tindices', 'int32')], [this.id, indices, rows], 0);
  }

  /** The current value, as a scope temporary (a copy). */
  read(s: NativeScope): NativeTensor {
    return s.op1('ReadVariableOp', [this.dtypeAttr()], [this.id]);
  }

  /** The current value copied into JavaScript (works whatever tfjs backend is active). */
  readSync(): Float32Array {
    const [t] = this.binding.executeOp('ReadVariableOp', [this.dtypeAttr()], [this.id], 1);
    try {
      return Float32Array.from(this.binding.tensorDataSync(t.id) as ArrayLike<number>);
    } finally {
      this.binding.deleteTensor(t.id);
    }
  }

  dispose(): void {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    try {
      this.binding.executeOp(
        'DestroyResourceOp',
        [{ name: 'ignore_lookup_error', type: this.binding.TF_ATTR_BOOL, value: true }],
        [h],
        0,
      );
    } finally {
      this.binding.deleteTensor(h);
    }
  }
}

/** Runs `body` with a NativeScope that is released afterwards, also on error. */
export function withNativeScope<T>(backend: unknown, body: (s: NativeScope) => T): T {
  const s = new NativeScope(backend);
  try {
    return body(s);
  } finally {
    s.release();
  }
}

/** True when `backend` is tfjs-node's (it has the op binding meProp's native kernels need). */
export function isNativeTensorflowBackend(backend: unknown): boolean {
  const b = backend as Partial<TfBackendLike>;
  return b.binding !== undefined && typeof b.binding.executeOp === 'function' && typeof b.getInputTensorIds === 'function';
}
