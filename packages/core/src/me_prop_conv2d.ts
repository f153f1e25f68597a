// mePropConv2d / mePropDepthwiseConv2d: the forward of tf.conv2d / tf.depthwiseConv2d, the backward of meProp
// with this op's own config (independent of any withMeProp scope): what @meprop/layers' conv layers run.
import * as tf from '@tensorflow/tfjs-core';
import type { MePropConfig } from './config';
import { MePropConv2D, MePropConv2DAttrs } from './kernel_names';
import { ensureMePropConv2DKernel } from './kernels/me_prop_conv2d_forward';
import { runtimeFor } from './me_prop_mat_mul';
import type { MePropRuntime } from './sparse_backward';

/** Strides and padding of a meProp convolution (NHWC, dilation 1, as tfjs's conv gradients require). */
export interface MePropConvOptions {
  strides?: number | [number, number];
  pad?: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * mePropConv2d's options: also a bias [CO] added to the convolution and an activation after it, run in one fused
 * forward kernel; the backward then applies the activation's derivative, selects the kept channels and sums the
 * bias gradient in one pass over dy (one native op on tensorflow with @meprop/tfjs-node-ops), where separate
 * tfjs ops (tf.relu, tf.add) would make a dense dz and a dense ReLU gradient first.
 */
export interface MePropConv2dOptions extends MePropConvOptions {
  /** A float32 bias of shape [CO] (filter.shape[3]). */
  bias?: tf.Tensor1D;
  /** 'linear' (none) or 'relu'. Default 'linear' when a bias is given; unset otherwise. */
  activation?: 'linear' | 'relu';
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

function conv2dOp(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  runtime: MePropRuntime,
  o: MePropConv2dOptions,
  depthwise: boolean,
): tf.Tensor4D {
  ensureMePropConv2DKernel(tf.getBackend());
  // A kernel with a registered gradient (gradients/me_prop_conv2d_grad.ts) rather than tf.customGrad: its
  // gradient returns lazy thunks, so tfjs skips dx of a model's first layer. The runtime rides in the attrs.
  const attrs: MePropConv2DAttrs = {
    strides: o.strides ?? 1,
    pad: (o.pad ?? 'valid') as MePropConv2DAttrs['pad'],
    dimRoundingMode: o.dimRoundingMode,
    depthwise,
    runtime,
  };
  const inputs: tf.NamedTensorMap = { x, filter };
  if (o.activation !== undefined || o.bias !== undefined) {
    attrs.activation = o.activation ?? 'linear';
    if (o.bias !== undefined) inputs.bias = o.bias;
  }
  return tf.engine().runKernel(MePropConv2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * y = tf.conv2d(x, filter, strides, pad) (NHWC). In back-propagation dy keeps k of its output channels per
 * `config` (unified: the same k everywhere; per-example: k at every example and position) and both gradients
 * are computed from those only.
 */
export function mePropConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  config: MePropConfig,
  options: MePropConv2dOptions = {},
): tf.Tensor4D {
  const fn = 'mePropConv2d';
  const [$x, $f] = checkConvOperands(x, filter, fn);
  const o = checkOptions(options, fn);
  const { bias, activation } = options;
  if (activation !== undefined && activation !== 'linear' && activation !== 'relu') {
    throw new Error(`${fn}: options.activation must be 'linear' or 'relu', got ${JSON.stringify(activation)}`);
  }
  if (bias !== undefined) {
    const CO = $f.shape[3];
    if (!(bias instanceof tf.Tensor)) throw new Error(`${fn}: options.bias must be a tf.Tensor, got ${typeof bias}`);
    if (bias.dtype !== 'float32' || bias.rank !== 1 || bias.shape[0] !== CO) {
      throw new Error(
        `${fn}: options.bias must be a float32 tensor of shape [${CO}] (filter.shape[3]), got ${bias.dtype} [${bias.shape}]`,
      );
    }
  }
  return conv2dOp($x, $f, runtimeFor(config, fn), { ...o, bias, activation }, false);
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
