// tf.fused.matMul's gradient is a closure inside tfjs-core, so a registry override for it does not receive
// transposeA/transposeB/activation. We recover them from the forward: while meProp is enabled, the
// `_FusedMatMul` kernel of every registered backend is wrapped to remember the attrs of each output it makes,
// keyed by the output's dataId (which the gradient receives as the saved `y`). A WeakMap: nothing leaks.
import * as tf from '@tensorflow/tfjs-core';

export interface FusedAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: string;
}

const FUSED = '_FusedMatMul';
const byDataId = new WeakMap<object, FusedAttrs>();
const wrapped = new Map<string, tf.KernelConfig>(); // backend -> original config

function backendNames(): string[] {
  return Object.keys(tf.engine().registryFactory);
}

export function installFusedRecorder(): void {
  for (const backendName of backendNames()) {
    if (wrapped.has(backendName)) continue;
    const original = tf.getKernel(FUSED, backendName);
    if (original === undefined) continue;
    const kernelFunc: tf.KernelFunc = (args) => {
      const out = original.kernelFunc(args);
      const info = (Array.isArray(out) ? out[0] : out) as tf.TensorInfo;
      const attrs = args.attrs as unknown as Partial<FusedAttrs>;
      byDataId.set(info.dataId, {
        transposeA: attrs.transposeA === true,
        transposeB: attrs.transposeB === true,
        activation: attrs.activation ?? 'linear',
      });
      return out;
    };
    tf.unregisterKernel(FUSED, backendName);
    tf.registerKernel({ ...original, kernelFunc });
    wrapped.set(backendName, original);
  }
}

export function uninstallFusedRecorder(): void {
  for (const [backendName, original] of wrapped) {
    tf.unregisterKernel(FUSED, backendName);
    tf.registerKernel(original);
  }
  wrapped.clear();
}

export function recordedFusedAttrs(y: tf.Tensor): FusedAttrs | undefined {
  return byDataId.get(y.dataId);
}
