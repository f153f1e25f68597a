// Runs another kernel of the same backend from inside a kernel (tfjs kernels do this, e.g. BatchMatMul calls
// Reshape), and frees intermediate results: an intermediate TensorInfo is not tracked by the engine.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Calls kernel `kernelName` of `backendName` directly; throws naming the kernel when it is missing. */
export function callKernel(
  kernelName: string,
  backendName: string,
  backend: unknown,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap,
): TensorInfo {
  const config = tf.getKernel(kernelName, backendName);
  if (config === undefined) throw new Error(`meProp: kernel '${kernelName}' is not registered for backend '${backendName}'`);
  const out = config.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs });
  return Array.isArray(out) ? out[0] : out;
}

/** Frees intermediate results made by callKernel. */
export function disposeIntermediate(backend: unknown, ...infos: TensorInfo[]): void {
  for (const info of infos) (backend as DisposingBackend).disposeData(info.dataId);
}
