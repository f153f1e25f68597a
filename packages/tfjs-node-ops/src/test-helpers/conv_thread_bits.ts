// Run as a child process by conv_kernels.test.ts (under tsx, with MEPROP_NATIVE_THREADS set by the parent):
// prints, as JSON, the bits (base64) of the native conv backward's outputs at a layer big enough for the
// threaded paths (unified: selection, dx, dW, and the one-op backward; per-position: selection, dx, dW), so that the parent can compare
// a run on one thread with a run on two.
// Helpers (seeded inputs, bits, loading the native ops) in thread_bits.ts.
import * as tf from '@tensorflow/tfjs';
import {
  MePropConvSelectChannelsAct,
  MePropConvSelectPositionsAct,
  MePropConvUnifiedBackward,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  MePropSparseConvGradFilter,
  MePropSparseConvGradInput,
} from '@meprop/core';
import type { MePropSparseConvGradAttrs } from '@meprop/core';
import { bits, rand, startChild } from './thread_bits';

startChild();
const out: Record<string, string> = {};
tf.tidy(() => {
  // 20 input channels (a padded vector), same padding: dx 8 × 30 × 30 × 20, about 30 M multiply-adds at k = 24.
  const x = rand([8, 30, 30, 20], 1);
  const w = rand([3, 3, 20, 48], 2);
  const y = tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
  const dy = rand(y.shape, 3);
  const attrs: MePropSparseConvGradAttrs = {
    inputShape: x.shape,
    filterShape: w.shape,
    strides: 1,
    dilations: 1,
    pad: 'same',
    dimRoundingMode: '',
  };
  const sel = { k: 24, activation: 'relu' };
  const [channels, dyK, bias] = tf.engine().runKernel(MePropConvSelectChannelsAct, { dy, y }, sel) as tf.Tensor[];
  out.channels = bits(channels);
  out.dyK = bits(dyK);
  out.bias = bits(bias);
  out.dx = bits(tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs as never) as tf.Tensor);
  out.dW = bits(tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs as never) as tf.Tensor);
  const one = { ...attrs, ...sel, withDx: true, withDw: true };
  const [dxOne, dWOne, biasOne] = tf.engine().runKernel(MePropConvUnifiedBackward, { dy, y, x, filter: w }, one) as tf.Tensor[];
  out.dxOne = bits(dxOne);
  out.dWOne = bits(dWOne);
  out.biasOne = bits(biasOne);
  const dy2 = tf.reshape(dy, [-1, 48]);
  const y2 = tf.reshape(y, [-1, 48]);
  const [indices, values, bias2] = tf.engine().runKernel(MePropConvSelectPositionsAct, { dy: dy2, y: y2 }, sel) as tf.Tensor[];
  out.indices = bits(indices);
  out.values = bits(values);
  out.bias2 = bits(bias2);
  out.dxSparse = bits(
    tf.engine().runKernel(MePropSparseConvGradInput, { indices, values, filter: w }, attrs as never) as tf.Tensor,
  );
  out.dWSparse = bits(tf.engine().runKernel(MePropSparseConvGradFilter, { indices, values, x }, attrs as never) as tf.Tensor);
});
process.stdout.write(JSON.stringify(out));
