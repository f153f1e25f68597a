// meProp gradient for tf.fused.conv2d, taped by tfjs 4.22 under its op-scope name `fusedConv2d__op` (Conv2D
// layers with a linear activation while training, and any model run with tf.fused.conv2d). Its gradient is a
// closure inside tfjs-core, so the override recovers strides/pad/activation from the forward's
// `FusedConv2D` kernel (see fused_attrs_recorder.ts).
import * as tf from '@tensorflow/tfjs-core';
import { exactConv2dGrads, mePropConv2dGradThunks } from '../conv_backward';
import type { MePropGradientSpec } from '../registry';
import { recordedFusedConvAttrs } from './fused_attrs_recorder';

/** The name tfjs 4.22 tapes tf.fused.conv2d under (kept in a test so an upgrade that renames it fails). */
export const FUSED_CONV2D_TAPE_NAME = 'fusedConv2d__op';

export const fusedConv2dMePropGradient: MePropGradientSpec = {
  kernelName: FUSED_CONV2D_TAPE_NAME,
  gradFunc: (dy, saved, _attrs, runtime) => {
    const [filter, x, y, bias] = saved;
    const rec = recordedFusedConvAttrs(y);
    if (rec === undefined) {
      throw new Error(
        `meProp: the attributes of a fused conv2d of filter [${filter.shape}] were not recorded (its forward ran ` +
          'before meProp was enabled); run the forward pass inside withMeProp/enableMeProp',
      );
    }
    let dyAct = dy as tf.Tensor;
    if (rec.activation === 'relu') {
      dyAct = tf.mul(dyAct, tf.step(y));
    } else if (rec.activation !== 'linear') {
      throw new Error(`meProp: cannot compute the gradient of a fused conv2d with activation '${rec.activation}'`);
    }
    const g =
      runtime === null || x.dtype !== 'float32'
        ? exactConv2dGrads(dyAct, x, filter, rec)
        : mePropConv2dGradThunks(dyAct, x, filter, rec, runtime);
    const out: Record<string, () => tf.Tensor> = { 0: g.x, 1: g.filter };
    if (bias !== undefined) {
      out[2] = () => {
        const axes = tf.backend_util.getReductionAxes(bias.shape, dyAct.shape);
        return tf.reshape(axes.length > 0 ? tf.sum(dyAct, axes) : dyAct, bias.shape);
      };
    }
    return out;
  },
};
