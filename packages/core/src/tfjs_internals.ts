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
