// meProp gradient for tfjs's Conv2D kernel (tf.conv2d, tf.conv1d, and Conv1D/Conv2D layers with a non-linear
// activation while training: tfjs-layers skips the fused path then).
import * as tf from '@tensorflow/tfjs-core';
import { ConvAttrs, exactConv2dGrads, mePropConv2dGradThunks } from '../conv_backward';
import type { MePropGradientSpec } from '../registry';

export const conv2dMePropGradient: MePropGradientSpec = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs, runtime) => {
    const [x, filter] = saved;
    const a = attrs as unknown as ConvAttrs;
    const d = dy as tf.Tensor;
    if (runtime === null || x.dtype !== 'float32' || filter.dtype !== 'float32') return exactConv2dGrads(d, x, filter, a);
    return mePropConv2dGradThunks(d, x, filter, a, runtime);
  },
};
