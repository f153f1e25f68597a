// tf.fused.matMul's gradient is a closure inside tfjs-core, so a registry override for it does not receive
// transposeA/transposeB/activation. We recover them from the forward: while meProp is enabled, the
// `_FusedMatMul` kernel of every registered backend is wrapped to remember the attrs of each output it makes,
// keyed by the output's dataId (which the gradient receives as the saved `y`). A WeakMap: nothing leaks.
// tfjs saves a clone of `y`; on backends whose Identity kernel copies (wasm), the clone has a new dataId,
// so the `Identity` kernel is wrapped too, carrying the record over to the copy.
import * as tf from '@tensorflow/tfjs-core';
import { FusedMatMulKernelAttrs, registeredBackendNames } from '../tfjs_internals';

export type FusedAttrs = FusedMatMulKernelAttrs;

const FUSED = '_FusedMatMul';
const IDENTITY = 'Identity';
const byDataId = new WeakMap<object, FusedAttrs>();
const wrapped = new Map<string, tf.KernelConfig>(); // `${kernel}/${backend}` -> original config

function firstInfo(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(out) ? out[0] : out;
}

function wrap(kernelName: string, backendName: string, after: (args: Parameters<tf.KernelFunc>[0], out: tf.TensorInfo) => void): void {
  const key = `${kernelName}/${backendName}`;
  if (wrapped.has(key)) return;
  const original = tf.getKernel(kernelName, backendName);
  if (original === undefined) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const out = original.kernelFunc(args) as tf.TensorInfo | tf.TensorInfo[];
    after(args, firstInfo(out));
    return out;
  };
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc });
  wrapped.set(key, original);
}

export function installFusedRecorder(): void {
  for (const backendName of registeredBackendNames()) {
    wrap(FUSED, backendName, (args, out) => {
      const attrs = args.attrs as unknown as Partial<FusedAttrs>;
      byDataId.set(out.dataId, {
        transposeA: attrs.transposeA === true,
        transposeB: attrs.transposeB === true,
        activation: attrs.activation ?? 'linear',
      });
    });
    wrap(IDENTITY, backendName, (args, out) => {
      const x = args.inputs.x as tf.TensorInfo | undefined;
      const rec = x === undefined ? undefined : byDataId.get(x.dataId);
      if (rec !== undefined && out.dataId !== x?.dataId) byDataId.set(out.dataId, rec);
    });
  }
}

export function uninstallFusedRecorder(): void {
  for (const original of wrapped.values()) {
    tf.unregisterKernel(original.kernelName, original.backendName);
    tf.registerKernel(original);
  }
  wrapped.clear();
}

export function recordedFusedAttrs(y: tf.Tensor): FusedAttrs | undefined {
  return byDataId.get(y.dataId);
}
