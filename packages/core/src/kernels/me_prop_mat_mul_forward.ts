// The forward kernel of MePropMatMul on any backend: tfjs's own BatchMatMul kernel of that backend, looked
// up at each call (so wrapping or replacing BatchMatMul later is seen). Registered on first use for the
// active backend; a package may register a faster kernel under the same name first (@meprop/layers does on
// cpu, with a bit-identical blocked loop).
import * as tf from '@tensorflow/tfjs-core';
import { MePropMatMul, MePropMatMulAttrs } from '../kernel_names';

const BATCH_MAT_MUL = 'BatchMatMul';

/** tfjs's BatchMatMul kernel on `backendName`, with the transposes of a MePropMatMul call. */
export function batchMatMulDelegate(args: Parameters<tf.KernelFunc>[0], backendName: string): tf.TensorInfo | tf.TensorInfo[] {
  const kernel = tf.getKernel(BATCH_MAT_MUL, backendName);
  if (kernel === undefined) {
    throw new Error(`mePropMatMul: backend '${backendName}' has no BatchMatMul kernel to run the forward product`);
  }
  const { transposeA, transposeB } = args.attrs as unknown as MePropMatMulAttrs;
  return kernel.kernelFunc({ inputs: args.inputs, backend: args.backend, attrs: { transposeA, transposeB } });
}

/** Makes sure MePropMatMul can run on `backendName`. */
export function ensureMePropMatMulKernel(backendName: string): void {
  if (tf.getKernel(MePropMatMul, backendName) !== undefined) return;
  tf.registerKernel({ kernelName: MePropMatMul, backendName, kernelFunc: (args) => batchMatMulDelegate(args, backendName) });
}
