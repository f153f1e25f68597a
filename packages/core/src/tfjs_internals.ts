// Every tfjs-core internal @meprop/core relies on, in one place: names and object shapes that are not part of
// tfjs's public API and that a tfjs release may change without notice. tfjs_internals.test.ts checks each one
// against the tfjs that is installed, so an upgrade that breaks one fails there, by name, before anything else.
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * The name tfjs tapes `tf.fused.matMul` under. Its gradient is a `customGrad` closure taped with the op-scope
 * name, not registered under `_FusedMatMul`; the engine looks the gradient registry up by the taped name
 * first, so registering a gradient under this name replaces it.
 */
export const FUSED_MAT_MUL_TAPE_NAME = 'fusedMatMul__op';

/**
 * The attrs tfjs's `_FusedMatMul` kernel receives that the meProp gradient needs (tfjs's
 * `_FusedMatMulAttrs` is public; that the `tf.fused.matMul` op passes these names through is not).
 */
export interface FusedMatMulKernelAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: string;
}

/** The names of the backends registered with the engine (its `registryFactory`), active or not. */
export function registeredBackendNames(): string[] {
  const factories = (tf.engine() as unknown as { registryFactory?: Record<string, unknown> }).registryFactory;
  if (factories === null || typeof factories !== 'object') {
    throw new Error('@meprop/core: tf.engine().registryFactory is missing; this tfjs release is not supported');
  }
  return Object.keys(factories);
}

/** The part of tfjs-backend-cpu's `MathBackendCPU` the cpu kernels use (typed structurally: no dependency). */
export interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array | Int32Array): TensorInfo;
}

/** The part of tfjs-backend-wasm's `BackendWasm` the wasm kernels use (typed structurally: no dependency). */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): unknown;
}

// tfjs-node (`tensorflow` backend) internals, used by the kernels in kernels/tensorflow/ and exported to
// @meprop/layers through NativeScope / NativeVariable. Typed structurally: tfjs-node is optional.

/** An op attribute as tfjs-node's binding takes it. */
export interface NativeAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[];
}

/** A tensor handle owned by libtensorflow, with its shape (what the binding returns for each op output). */
export interface NativeTensor {
  id: number;
  shape: number[];
  dtype: number;
}

/**
 * The part of tfjs-node's N-API binding (`backend.binding`, untyped in its public API) the `tensorflow`
 * kernels use: executeOp runs any op of its libtensorflow on tensor handles.
 */
export interface TfBinding {
  tensorDataSync(id: number): ArrayLike<number> | Uint8Array;
  executeOp(name: string, attrs: NativeAttr[], inputIds: number[], numOutputs: number): NativeTensor[];
  createTensor(shape: number[], dtype: number, values: Int32Array | Float32Array): number;
  deleteTensor(id: number): void;
  TF_FLOAT: number;
  TF_INT32: number;
  TF_INT64: number;
  TF_BOOL: number;
  TF_ATTR_INT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_STRING: number;
  TF_ATTR_SHAPE: number;
}

/** The part of tfjs-node's NodeJSKernelBackend we use (two of these members are private in its typings). */
export interface TfBackendLike {
  binding: TfBinding;
  getInputTensorIds(tensors: TensorInfo[]): number[];
  createOutputTensor(meta: NativeTensor): TensorInfo;
}

/** `backend` as tfjs-node's backend, or a clear error when it is not one (checked structurally). */
export function asTfBackend(backend: unknown): TfBackendLike {
  const b = backend as Partial<TfBackendLike>;
  if (
    b.binding === undefined ||
    typeof b.binding.executeOp !== 'function' ||
    typeof b.getInputTensorIds !== 'function' ||
    typeof b.createOutputTensor !== 'function'
  ) {
    throw new Error('meProp tensorflow kernel: the active backend is not tfjs-node 4.x (no binding.executeOp)');
  }
  return b as TfBackendLike;
}

/** What tfjs_internals.test.ts checks on the `tensorflow` backend (tfjs-node 4.x). */
export const TFJS_NODE_INTERNALS: readonly string[] = [
  "tfjs-node's backend has `binding` with executeOp(name, attrs, inputIds, numOutputs) returning {id, shape, dtype} per output, " +
    'createTensor(shape, dtype, values), deleteTensor(id) and tensorDataSync(id)',
  'the binding has the dtype and attribute-type constants TF_FLOAT, TF_INT32, TF_INT64, TF_BOOL, TF_ATTR_INT, TF_ATTR_BOOL, ' +
    'TF_ATTR_TYPE, TF_ATTR_STRING and TF_ATTR_SHAPE',
  "the backend's getInputTensorIds(tensors) gives the handle of a tfjs tensor, and createOutputTensor({id, shape, dtype}) adopts a handle as a tracked tfjs Tensor (a kernel may return it as its output)",
  'the ops the kernels run exist in its libtensorflow and run eagerly (synchronously): TopKV2, GatherV2, MatMul, SparseToDense, ' +
    'ScatterNd, SparseTensorDenseMatMul, Bitcast, and VarHandleOp / AssignVariableOp / ResourceGather / ResourceScatterUpdate / ' +
    'ReadVariableOp / DestroyResourceOp for resource variables',
  "the binding's loadSavedModel(exportDir, tags) loads a SavedModel into a session and returns its id, " +
    'runSavedModel(id, inputIds, "placeholder:0,...", "node:0,...") runs the fetched subgraph in one call and returns ' +
    '{id, shape, dtype} per output (handles the caller owns), and deleteSavedModel(id) frees the session',
];

/** What tfjs_internals.test.ts checks, for the docs and for the error message of a failing check. */
export const TFJS_CORE_INTERNALS: readonly string[] = [
  `tf.fused.matMul's gradient is taped as '${FUSED_MAT_MUL_TAPE_NAME}' and looked up in the gradient registry by that name, ` +
    'with saved = [a and b reshaped to rank 3, y, bias?] and gradients keyed by input position',
  "the '_FusedMatMul' kernel receives transposeA, transposeB and activation as attrs",
  'tf.engine().registryFactory lists the registered backends by name',
  "the cpu backend's data.get(dataId).values is the tensor's typed array, and makeTensorInfo(shape, dtype, values) adopts one",
  "the wasm backend's makeOutput(shape, dtype) allocates on its heap and typedArrayFromHeap(t) views it",
  "the y that tf.fused.matMul's gradient receives is the forward output or an 'Identity' copy of it",
];
