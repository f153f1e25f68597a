// The forward kernel of MePropConv2D on any backend: the backend's own Conv2D (or DepthwiseConv2dNative)
// kernel, looked up at each call and registered on first use for the active backend, like MePropMatMul's.
import * as tf from '@tensorflow/tfjs-core';
import { MePropConv2D, MePropConv2DAttrs } from '../kernel_names';

function convDelegate(args: Parameters<tf.KernelFunc>[0], backendName: string): tf.TensorInfo | tf.TensorInfo[] {
  const { strides, pad, dimRoundingMode, depthwise, activation } = args.attrs as unknown as MePropConv2DAttrs;
  if (activation !== undefined) {
    // Bias and activation in the backend's fused kernel (one kernel where the backend fuses them).
    const fused = tf.getKernel('FusedConv2D', backendName);
    if (fused === undefined) {
      throw new Error(
        `mePropConv2d: backend '${backendName}' has no FusedConv2D kernel to run a convolution with bias/activation`,
      );
    }
    const attrs = { strides, pad, dimRoundingMode, dataFormat: 'NHWC', dilations: 1, activation } as unknown as tf.NamedAttrMap;
    return fused.kernelFunc({ inputs: args.inputs, backend: args.backend, attrs });
  }
  const name = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
  const kernel = tf.getKernel(name, backendName);
  if (kernel === undefined) {
    throw new Error(`mePropConv2d: backend '${backendName}' has no ${name} kernel to run the forward convolution`);
  }
  const attrs = { strides, pad, dimRoundingMode, dataFormat: 'NHWC', dilations: 1 } as unknown as tf.NamedAttrMap;
  return kernel.kernelFunc({ inputs: args.inputs, backend: args.backend, attrs });
}

/** Makes sure MePropConv2D can run on `backendName`. */
export function ensureMePropConv2DKernel(backendName: string): void {
  if (tf.getKernel(MePropConv2D, backendName) !== undefined) return;
  tf.registerKernel({ kernelName: MePropConv2D, backendName, kernelFunc: (args) => convDelegate(args, backendName) });
}
