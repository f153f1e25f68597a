// meProp gradient for tfjs's DepthwiseConv2dNative kernel (DepthwiseConv2D layers, and the depthwise half of
// SeparableConv2D; its pointwise half is a Conv2D).
import * as tf from '@tensorflow/tfjs-core';
import { DepthwiseAttrs, exactDepthwiseGrads, mePropDepthwiseGradThunks } from '../conv_backward';
import type { MePropGradientSpec } from '../registry';

export const depthwiseConv2dMePropGradient: MePropGradientSpec = {
  kernelName: 'DepthwiseConv2dNative',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs, runtime) => {
    const [x, filter] = saved;
    const a = attrs as unknown as DepthwiseAttrs;
    const d = dy as tf.Tensor;
    if (runtime === null || x.dtype !== 'float32' || filter.dtype !== 'float32') return exactDepthwiseGrads(d, x, filter, a);
    return mePropDepthwiseGradThunks(d, x, filter, a, runtime);
  },
};
