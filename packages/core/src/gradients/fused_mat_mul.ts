// meProp gradient for tf.fused.matMul, taped by tfjs under its op-scope name `fusedMatMul__op` (tfjs-layers'
// Dense with linear/sigmoid/tanh/softmax activations, and the gate matmuls of LSTM, GRU and SimpleRNN cells).
import * as tf from '@tensorflow/tfjs-core';
import { exactMatMulGrads, mePropMatMulGradThunks } from '../sparse_backward';
import type { MePropGradientSpec } from '../registry';
import { recordedFusedAttrs } from './fused_attrs_recorder';
import { FUSED_MAT_MUL_TAPE_NAME } from '../tfjs_internals';

export { FUSED_MAT_MUL_TAPE_NAME };

/** Recovers transposeA/transposeB from shapes when the forward was not recorded; throws if ambiguous. */
function inferTransposes(a3: tf.Tensor, b3: tf.Tensor, y: tf.Tensor): { transposeA: boolean; transposeB: boolean } {
  const [, M, N] = y.shape;
  const [, a1, a2] = a3.shape;
  const [, b1, b2] = b3.shape;
  const options: Array<{ transposeA: boolean; transposeB: boolean }> = [];
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const m = transposeA ? a2 : a1;
      const kA = transposeA ? a1 : a2;
      const kB = transposeB ? b2 : b1;
      const n = transposeB ? b1 : b2;
      if (m === M && n === N && kA === kB) options.push({ transposeA, transposeB });
    }
  }
  if (options.length !== 1) {
    throw new Error(
      `meProp: cannot tell the transposes of a fused matMul of shapes [${a3.shape}] x [${b3.shape}] that ran ` +
        'before meProp was enabled; run the forward pass inside withMeProp/enableMeProp',
    );
  }
  return options[0];
}

export const fusedMatMulMePropGradient: MePropGradientSpec = {
  kernelName: FUSED_MAT_MUL_TAPE_NAME,
  gradFunc: (dy, saved, _attrs, runtime) => {
    const [a3, b3, y, bias] = saved;
    const rec = recordedFusedAttrs(y) ?? { ...inferTransposes(a3, b3, y), activation: 'linear' };
    let dyAct = tf.reshape(dy as tf.Tensor, y.shape);
    if (rec.activation === 'relu') {
      dyAct = tf.mul(dyAct, tf.step(y));
    } else if (rec.activation !== 'linear') {
      throw new Error(`meProp: cannot compute the gradient of a fused matMul with activation '${rec.activation}'`);
    }
    const g =
      runtime === null
        ? exactMatMulGrads(dyAct, a3, b3, rec.transposeA, rec.transposeB)
        : mePropMatMulGradThunks(dyAct, a3, b3, rec.transposeA, rec.transposeB, runtime);
    const out: Record<string, () => tf.Tensor> = { 0: g.a, 1: g.b };
    if (bias !== undefined) {
      out[2] = () => {
        const axes = tf.backend_util.getReductionAxes(bias.shape, dyAct.shape);
        const summed = axes.length > 0 ? tf.sum(dyAct, axes) : dyAct;
        return tf.reshape(summed, bias.shape);
      };
    }
    return out;
  },
};
