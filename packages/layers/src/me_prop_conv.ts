// meProp convolution layers: Conv1D, Conv2D, DepthwiseConv2D and SeparableConv2D whose backward keeps k of the
// output channels of dy (per @meprop/core's mePropConv2d). They subclass tfjs's own classes (same weights,
// build, config and forward); only `call` runs the convolutions through meProp's ops. NHWC (channelsLast) and
// dilation 1 only: tfjs's own conv gradients have the same limits.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import type { layers, LayerVariable } from '@tensorflow/tfjs-layers';
import { MePropConfig, mePropConv2d as conv2dOp, mePropDepthwiseConv2d as depthwiseOp } from '@meprop/core';
import { layerMePropConfig, mePropConfigEntries, MePropLayerArgs, withDefaultName } from './me_prop_args';
import { registeredClass, RegisteredClass } from './tfjs_internals';

// tfjs-layers' package root exports the conv factories but not their classes or argument types: take the
// argument types from the factories, and the fields `call` reads (private in tfjs's typings) from this interface.
/** tfjs's Conv1D/Conv2D layer arguments (the parameter of `tf.layers.conv2d`). */
export type ConvLayerArgs = Parameters<typeof layers.conv2d>[0];
/** tfjs's SeparableConv2D layer arguments. */
export type SeparableConvLayerArgs = Parameters<typeof layers.separableConv2d>[0];
/** tfjs's DepthwiseConv2D layer arguments. */
export type DepthwiseConv2DLayerArgs = Parameters<typeof layers.depthwiseConv2d>[0];
interface ConvFields {
  kernel: LayerVariable;
  bias: LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName?(): string } | null;
  strides: number[];
  padding: string;
  depthMultiplier: number;
}
type ConvLayer = layers.Layer & ConvFields;

const Conv1DClass: RegisteredClass<ConvLayer, ConvLayerArgs> = registeredClass('Conv1D');
const Conv2DClass: RegisteredClass<ConvLayer, ConvLayerArgs> = registeredClass('Conv2D');
const DepthwiseConv2DClass: RegisteredClass<ConvLayer, DepthwiseConv2DLayerArgs> = registeredClass('DepthwiseConv2D');
const SeparableConv2DClass: RegisteredClass<ConvLayer, SeparableConvLayerArgs> = registeredClass('SeparableConv2D');

export type MePropConv1DArgs = ConvLayerArgs & MePropLayerArgs;
export type MePropConv2DArgs = ConvLayerArgs & MePropLayerArgs;
export type MePropDepthwiseConv2DArgs = DepthwiseConv2DLayerArgs & MePropLayerArgs;
export type MePropSeparableConv2DArgs = SeparableConvLayerArgs & MePropLayerArgs;

interface ConvLikeArgs {
  dataFormat?: string;
  dilationRate?: number | number[];
  padding?: string;
}

/**
 * Why a conv layer config cannot have a meProp version, or null: the layers' constructors throw this, and
 * mePropify reports it as the reason for skipping the layer.
 */
export function convUnsupportedReason(args: ConvLikeArgs): string | null {
  if (args.dataFormat !== undefined && args.dataFormat !== null && args.dataFormat !== 'channelsLast') {
    return `dataFormat '${args.dataFormat}' (meProp convolutions take 'channelsLast')`;
  }
  const d = args.dilationRate;
  if (d !== undefined && d !== null && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) {
    return `dilationRate ${JSON.stringify(d)} (tfjs's conv gradients, and meProp's, need dilation 1)`;
  }
  if (args.padding === 'causal') return "padding 'causal' (not implemented by tfjs-layers either)";
  return null;
}

function convConfig(args: MePropLayerArgs & ConvLikeArgs, fn: string): MePropConfig {
  if (args === null || typeof args !== 'object') throw new Error(`${fn}: args must be an object, got ${String(args)}`);
  const reason = convUnsupportedReason(args);
  if (reason !== null) throw new Error(`${fn}: args has ${reason}`);
  return layerMePropConfig({ k: args.k, mode: args.mode, seed: args.seed }, `${fn}: args`);
}

function single(inputs: tf.Tensor | tf.Tensor[], cls: string): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new Error(`${cls} expects exactly one input tensor, got ${inputs.length}`);
    return inputs[0];
  }
  return inputs;
}

function padMode(padding: string): 'valid' | 'same' {
  return padding === 'same' ? 'same' : 'valid';
}

/**
 * The activation mePropConv2d can fuse ('relu' or 'linear'), or null. Fused, the bias and activation run in the
 * backend's FusedConv2D kernel and their backward inside meProp's selection (one pass over dy, no dense ReLU
 * gradient: on tensorflow that gradient alone cost more than the meProp conv backward).
 */
function fusableActivation(layer: ConvFields): 'linear' | 'relu' | null {
  const name = layer.activation === null ? 'linear' : layer.activation.getClassName?.();
  return name === 'relu' || name === 'linear' ? name : null;
}

function applyActivation(layer: ConvFields, y: tf.Tensor): tf.Tensor {
  return layer.activation === null ? y : layer.activation.apply(y);
}

/** tfjs's Conv2D with meProp's backward. */
export class MePropConv2D extends Conv2DClass {
  static override className = 'MeProp>Conv2D';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropConv2DArgs) {
    const config = convConfig(args, 'mePropConv2d');
    super(withDefaultName(args, 'me_prop_conv2d'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = single(inputs, 'MeProp>Conv2D') as tf.Tensor4D;
      const kernel = (this.kernel as LayerVariable).read() as tf.Tensor4D;
      const bias = this.bias === null || this.bias === undefined ? undefined : (this.bias.read() as tf.Tensor1D);
      const options = { strides: this.strides as [number, number], pad: padMode(this.padding) };
      const activation = fusableActivation(this);
      if (activation !== null) return conv2dOp(x, kernel, this.mePropConfig, { ...options, bias, activation });
      let y: tf.Tensor = conv2dOp(x, kernel, this.mePropConfig, options);
      if (bias !== undefined) y = tf.add(y, bias);
      return applyActivation(this, y);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropConv2D);

/** tfjs's Conv1D with meProp's backward (a conv2d of height 1, as tf.conv1d runs it). */
export class MePropConv1D extends Conv1DClass {
  static override className = 'MeProp>Conv1D';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropConv1DArgs) {
    const config = convConfig(args, 'mePropConv1d');
    super(withDefaultName(args, 'me_prop_conv1d'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = single(inputs, 'MeProp>Conv1D');
      const kernel = (this.kernel as LayerVariable).read();
      const bias = this.bias === null || this.bias === undefined ? undefined : (this.bias.read() as tf.Tensor1D);
      const options = { strides: [1, this.strides[0]] as [number, number], pad: padMode(this.padding) };
      const activation = fusableActivation(this);
      const fused = activation === null ? {} : { bias, activation };
      const y4 = conv2dOp(tf.expandDims(x, 1) as tf.Tensor4D, tf.expandDims(kernel, 0) as tf.Tensor4D, this.mePropConfig, {
        ...options,
        ...fused,
      });
      let y: tf.Tensor = tf.squeeze(y4, [1]);
      if (activation !== null) return y;
      if (bias !== undefined) y = tf.add(y, bias);
      return applyActivation(this, y);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropConv1D);

interface DepthwiseInternals {
  depthwiseKernel: LayerVariable;
}

/** tfjs's DepthwiseConv2D with meProp's backward over its CI·depthMultiplier output channels. */
export class MePropDepthwiseConv2D extends DepthwiseConv2DClass {
  static override className = 'MeProp>DepthwiseConv2D';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropDepthwiseConv2DArgs) {
    const config = convConfig(args, 'mePropDepthwiseConv2d');
    super(withDefaultName(args, 'me_prop_depthwise_conv2d'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = single(inputs, 'MeProp>DepthwiseConv2D') as tf.Tensor4D;
      const kernel = (this as unknown as DepthwiseInternals).depthwiseKernel.read() as tf.Tensor4D;
      let y: tf.Tensor = depthwiseOp(x, kernel, this.mePropConfig, {
        strides: this.strides as [number, number],
        pad: padMode(this.padding),
      });
      if (this.bias !== null && this.bias !== undefined) y = tf.add(y, this.bias.read());
      return applyActivation(this, y);
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropDepthwiseConv2D);

interface SeparableInternals {
  depthwiseKernel: LayerVariable;
  pointwiseKernel: LayerVariable;
}

/**
 * tfjs's SeparableConv2D with meProp's backward on both halves: the depthwise convolution (k of its
 * CI·depthMultiplier channels) and the 1×1 pointwise one (k of its `filters` channels), with the same config.
 */
export class MePropSeparableConv2D extends SeparableConv2DClass {
  static override className = 'MeProp>SeparableConv2D';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropSeparableConv2DArgs) {
    const config = convConfig(args, 'mePropSeparableConv2d');
    super(withDefaultName(args, 'me_prop_separable_conv2d'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor {
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = single(inputs, 'MeProp>SeparableConv2D') as tf.Tensor4D;
      const self = this as unknown as SeparableInternals;
      const depth = depthwiseOp(x, self.depthwiseKernel.read() as tf.Tensor4D, this.mePropConfig, {
        strides: this.strides as [number, number],
        pad: padMode(this.padding),
      });
      let y: tf.Tensor = conv2dOp(depth, self.pointwiseKernel.read() as tf.Tensor4D, this.mePropConfig, {
        strides: 1,
        pad: 'valid',
      });
      if (this.bias !== null && this.bias !== undefined) y = tf.add(y, this.bias.read());
      return applyActivation(this, y);
    });
  }

  override getConfig(): serialization.ConfigDict {
    // tfjs 4.22's SeparableConv2D.getConfig() leaves out depthMultiplier: without it a loaded copy breaks.
    return { ...super.getConfig(), depthMultiplier: this.depthMultiplier, ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropSeparableConv2D);

/** The factories, named like tf.layers' own: `mePropConv2d({ filters: 32, kernelSize: 3, k: 4, mode: 'unified' })`. */
export function mePropConv1d(args: MePropConv1DArgs): MePropConv1D {
  return new MePropConv1D(args);
}
export function mePropConv2d(args: MePropConv2DArgs): MePropConv2D {
  return new MePropConv2D(args);
}
export function mePropDepthwiseConv2d(args: MePropDepthwiseConv2DArgs): MePropDepthwiseConv2D {
  return new MePropDepthwiseConv2D(args);
}
export function mePropSeparableConv2d(args: MePropSeparableConv2DArgs): MePropSeparableConv2D {
  return new MePropSeparableConv2D(args);
}
