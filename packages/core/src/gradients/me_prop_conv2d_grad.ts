// The gradient of the MePropConv2D kernel: meProp's conv backward as lazy thunks, one per input. tfjs's tape
// calls a thunk only for an input on the path to what is differentiated, so a model's first conv layer never
// computes dx (tf.customGrad would compute both gradients eagerly).
import * as tf from '@tensorflow/tfjs-core';
import { mePropConv2dActGradThunks, mePropConv2dGradThunks, mePropDepthwiseGradThunks } from '../conv_backward';
import { MePropConv2D, MePropConv2DAttrs } from '../kernel_names';

export const mePropConv2DGradConfig: tf.GradConfig = {
  kernelName: MePropConv2D,
  inputsToSave: ['x', 'filter'],
  // y: the ReLU's derivative of a convolution with a fused activation is read from its output.
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad, dimRoundingMode, depthwise, activation, runtime } = attrs as unknown as MePropConv2DAttrs;
    const a = { strides, pad, dimRoundingMode };
    if (activation !== undefined) return mePropConv2dActGradThunks(dy as tf.Tensor, x, filter, y, activation, a, runtime);
    return depthwise
      ? mePropDepthwiseGradThunks(dy as tf.Tensor, x, filter, a, runtime)
      : mePropConv2dGradThunks(dy as tf.Tensor, x, filter, a, runtime);
  },
};
