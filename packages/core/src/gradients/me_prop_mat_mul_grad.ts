// The gradient of the MePropMatMul kernel: meProp's backward as lazy thunks, one per input. tfjs's tape
// calls a thunk only for an input on the path to what is differentiated, so the first layer of a model
// never computes its input gradient dx (tf.customGrad would compute both eagerly).
import * as tf from '@tensorflow/tfjs-core';
import { MePropMatMul, MePropMatMulAttrs } from '../kernel_names';
import { mePropMatMulGradThunks } from '../sparse_backward';

export const mePropMatMulGradConfig: tf.GradConfig = {
  kernelName: MePropMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB, runtime } = attrs as unknown as MePropMatMulAttrs;
    return mePropMatMulGradThunks(dy as tf.Tensor, a, b, transposeA, transposeB, runtime);
  },
};
