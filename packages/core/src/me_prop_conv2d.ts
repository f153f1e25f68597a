// mePropConv2d / mePropDepthwiseConv2d: the forward of tf.conv2d / tf.depthwiseConv2d, the backward of meProp
// with this op's own config (independent of any withMeProp scope): what @meprop/layers' conv layers run.
import * as tf from '@tensorflow/tfjs-core';
import type { MePropConfig } from './config';
import { mePropConv2dGradThunks, mePropDepthwiseGradThunks } from './conv_backward';
import { runtimeFor } from './me_prop_mat_mul';
import type { MePropRuntime } from './sparse_backward';

/** Strides and padding of a meProp convolution (NHWC, dilation 1, as tfjs's conv gradients require). */
export interface MePropConvOptions {
  strides?: number | [number, number];
  pad?: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function checkConvOperands(x: unknown, filter: unknown, fn: string): [tf.Tensor4D, tf.Tensor4D] {
  for (const [t, name] of [
    [x, 'x'],
    [filter, 'filter'],
  ] as const) {
    if (!(t instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor, got ${typeof t}`);
    if (t.dtype !== 'float32') throw new Error(`${fn}: ${name} must have dtype float32, got ${t.dtype}`);
    if (t.rank !== 4)
      throw new Error(
        `${fn}: ${name} must have rank 4 (NHWC${name === 'filter' ? ' filter [FH, FW, CI, CO]' : ''}), got shape [${t.shape}]`,
      );
  }
  const $x = x as tf.Tensor4D;
  const $f = filter as tf.Tensor4D;
  if ($x.shape[3] !== $f.shape[2]) {
    throw new Error(
      `${fn}: x's channels (${$x.shape[3]}, shape [${$x.shape}]) must equal filter.shape[2] (${$f.shape[2]}, shape [${$f.shape}])`,
    );
  }
  return [$x, $f];
}

function checkOptions(
  options: MePropConvOptions,
  fn: string,
): Required<Pick<MePropConvOptions, 'strides' | 'pad'>> & MePropConvOptions {
  if (options === null || typeof options !== 'object')
    throw new Error(`${fn}: options must be an object, got ${String(options)}`);
  const strides = options.strides ?? 1;
  const list = Array.isArray(strides) ? strides : [strides];
  if (list.length < 1 || list.length > 2 || list.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`${fn}: options.strides must be a positive integer or a pair of them, got ${JSON.stringify(strides)}`);
  }
  const pad = options.pad ?? 'valid';
  if (pad !== 'valid' && pad !== 'same' && !(typeof pad === 'number' && Number.isInteger(pad) && pad >= 0)) {
    throw new Error(`${fn}: options.pad must be 'valid', 'same' or a non-negative integer, got ${JSON.stringify(pad)}`);
  }
  return { ...options, strides, pad };
}

const conv2dOp = (
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  runtime: MePropRuntime,
  o: MePropConvOptions,
  depthwise: boolean,
): tf.Tensor4D => {
  const attrs = { strides: o.strides ?? 1, pad: o.pad ?? 'valid', dimRoundingMode: o.dimRoundingMode };
  const body = (a: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([a, w]);
    return {
      value: depthwise
        ? tf.depthwiseConv2d(a, w, attrs.strides, attrs.pad, 'NHWC', 1, attrs.dimRoundingMode)
        : tf.conv2d(a, w, attrs.strides, attrs.pad, 'NHWC', 1, attrs.dimRoundingMode),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = depthwise
          ? mePropDepthwiseGradThunks(dy, saved[0], saved[1], attrs, runtime)
          : mePropConv2dGradThunks(dy, saved[0], saved[1], attrs, runtime);
        return [g.x(), g.filter()];
      },
    };
  };
  return tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0])(x, filter) as tf.Tensor4D;
};

/**
 * y = tf.conv2d(x, filter, strides, pad) (NHWC). In back-propagation dy keeps k of its output channels per
 * `config` (unified: the same k everywhere; per-example: k at every example and position) and both gradients
 * are computed from those only.
 */
export function mePropConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  config: MePropConfig,
  options: MePropConvOptions = {},
): tf.Tensor4D {
  const fn = 'mePropConv2d';
  const [$x, $f] = checkConvOperands(x, filter, fn);
  return conv2dOp($x, $f, runtimeFor(config, fn), checkOptions(options, fn), false);
}

/** y = tf.depthwiseConv2d(x, filter, strides, pad), with meProp's backward over its CI·M output channels. */
export function mePropDepthwiseConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  config: MePropConfig,
  options: MePropConvOptions = {},
): tf.Tensor4D {
  const fn = 'mePropDepthwiseConv2d';
  const [$x, $f] = checkConvOperands(x, filter, fn);
  return conv2dOp($x, $f, runtimeFor(config, fn), checkOptions(options, fn), true);
}
