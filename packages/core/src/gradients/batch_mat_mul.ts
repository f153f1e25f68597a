// meProp gradient for tfjs's BatchMatMul kernel (tf.matMul, and Dense layers with relu/elu activations).
import * as tf from '@tensorflow/tfjs-core';
import { exactMatMulGrads, mePropMatMulGradThunks } from '../sparse_backward';
import type { MePropGradientSpec } from '../registry';

export const batchMatMulMePropGradient: MePropGradientSpec = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs, runtime) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
    const tA = transposeA === true;
    const tB = transposeB === true;
    const d = dy as tf.Tensor;
    if (runtime === null || a.dtype !== 'float32' || b.dtype !== 'float32') return exactMatMulGrads(d, a, b, tA, tB);
    return mePropMatMulGradThunks(d, a, b, tA, tB, runtime);
  },
};
