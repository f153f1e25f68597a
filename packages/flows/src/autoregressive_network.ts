// MADE (Germain et al. 2015): an MLP whose masked weights make output i depend only on the inputs that come
// before i in the order, plus an optional context h that reaches every hidden layer and the output unmasked.
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, LayerVariable } from '@tensorflow/tfjs-layers';
import { applyActivation, assertActivation, FlowActivation } from './activation';
import { assertHiddenUnits, InputOrder, madeMasks, resolveOrder } from './masks';
import { glorot, maskedLinear, writeConstant } from './masked_dense';
import { assertInt, assertShape } from './validate';
import { baseLayerArgs, FlowLayerArgs } from './layer_args';

/** Everything that fixes a MADE's structure; `order` is always an explicit permutation here. */
export interface MadeSpec {
  eventSize: number;
  hiddenUnits: number[];
  params: number;
  contextSize: number;
  order: number[];
  activation: FlowActivation;
  seed?: number;
}

export interface MadeSpecArgs {
  eventSize: number;
  hiddenUnits: number[];
  params?: number;
  contextSize?: number;
  inputOrder?: InputOrder;
  activation?: FlowActivation;
  /** Seeds the 'random' order and the weight initializers. */
  seed?: number;
}

/** Validates user arguments and resolves the order; every factory of the package goes through this. */
export function resolveMadeSpec(args: MadeSpecArgs, defaultParams = 2): MadeSpec {
  if (args === null || typeof args !== 'object') throw new Error(`args must be an object, got ${String(args)}`);
  assertInt('eventSize', args.eventSize, 1);
  assertHiddenUnits(args.hiddenUnits, args.eventSize);
  const params = args.params ?? defaultParams;
  assertInt('params', params, 1);
  const contextSize = args.contextSize ?? 0;
  assertInt('contextSize', contextSize, 0);
  const activation = args.activation ?? 'relu';
  assertActivation('activation', activation);
  if (args.seed !== undefined) assertInt('seed', args.seed, 0);
  const order = resolveOrder(args.inputOrder ?? 'left-to-right', args.eventSize, args.seed ?? 0);
  return {
    eventSize: args.eventSize,
    hiddenUnits: args.hiddenUnits.slice(),
    params,
    contextSize,
    order,
    activation,
    seed: args.seed,
  };
}

/** The signature of Layer.addWeight that Made needs (Layer keeps addWeight protected, so layers pass it in). */
export type AddWeight = (
  name: string,
  shape: number[],
  init: ReturnType<typeof initializers.zeros>,
  trainable: boolean,
) => LayerVariable;

/**
 * The weights and forward pass of one MADE, shared by the MADE layer and by every flow layer that owns MADEs.
 * It owns no layer: the layer that builds it owns the variables, so they save and load with that layer.
 */
export class Made {
  private kernels: LayerVariable[] = [];
  private biases: LayerVariable[] = [];
  private masks: LayerVariable[] = [];
  private contextKernels: LayerVariable[] = [];

  constructor(readonly spec: MadeSpec) {}

  build(add: AddWeight, prefix: string): void {
    const { eventSize, hiddenUnits, params, contextSize, order, seed } = this.spec;
    const maskValues = madeMasks(order, hiddenUnits, params);
    const widths = [eventSize, ...hiddenUnits, eventSize * params];
    const init = (k: number) => glorot(seed === undefined ? undefined : seed * 1000 + k);
    for (let l = 0; l + 1 < widths.length; l++) {
      const shape = [widths[l], widths[l + 1]];
      this.kernels.push(add(`${prefix}kernel_${l}`, shape, init(2 * l), true));
      this.biases.push(add(`${prefix}bias_${l}`, [widths[l + 1]], initializers.zeros(), true));
      const mask = add(`${prefix}mask_${l}`, shape, initializers.zeros(), false);
      writeConstant(mask, maskValues[l]);
      this.masks.push(mask);
      if (contextSize > 0) {
        this.contextKernels.push(add(`${prefix}context_kernel_${l}`, [contextSize, widths[l + 1]], init(2 * l + 1), true));
      }
    }
  }

  /** [batch, eventSize] (and [batch, contextSize]) -> [batch, eventSize, params]. */
  apply(z: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor3D {
    const { eventSize, params, contextSize, activation } = this.spec;
    assertShape('z', z.shape, [null, eventSize]);
    if (contextSize > 0) {
      if (!h) throw new Error(`context: this network was built with contextSize ${contextSize}, so h is required, got none`);
      assertShape('context', h.shape, [z.shape[0], contextSize]);
    } else if (h) {
      throw new Error(`context: this network has contextSize 0 and takes no h, got one of shape [${h.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      let x: tf.Tensor2D = z;
      const last = this.kernels.length - 1;
      for (let l = 0; l <= last; l++) {
        let y = maskedLinear(
          x,
          this.kernels[l].read() as tf.Tensor2D,
          this.masks[l].read() as tf.Tensor2D,
          this.biases[l].read() as tf.Tensor1D,
        );
        if (h) y = tf.add(y, tf.matMul(h, this.contextKernels[l].read() as tf.Tensor2D));
        x = l < last ? applyActivation(y, activation) : y;
      }
      return tf.reshape(x, [z.shape[0], eventSize, params]);
    });
  }
}

/** Splits a layer input `z` or `[z, h]`. */
export function splitInputs(inputs: tf.Tensor | tf.Tensor[]): { z: tf.Tensor2D; h?: tf.Tensor2D } {
  if (!Array.isArray(inputs)) return { z: inputs as tf.Tensor2D };
  if (inputs.length === 1) return { z: inputs[0] as tf.Tensor2D };
  if (inputs.length === 2) return { z: inputs[0] as tf.Tensor2D, h: inputs[1] as tf.Tensor2D };
  throw new Error(`inputs must be z or [z, h], got an array of ${inputs.length} tensors`);
}

/** The shapes of a layer input `z` or `[z, h]` as a list. */
export function inputShapes(inputShape: unknown): (number | null)[][] {
  return (Array.isArray(inputShape) && Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as (number | null)[][];
}

/** Checks layer input shapes at build time, so a wrong width fails before any weight is made. */
export function assertInputShapes(inputShape: unknown, eventSize: number, contextSize: number): void {
  const shapes = inputShapes(inputShape);
  assertShape('z', shapes[0], [null, eventSize]);
  if (contextSize > 0 && shapes.length < 2) {
    throw new Error(`context: contextSize is ${contextSize}, so inputs must be [z, h], got z alone`);
  }
  if (shapes.length > 1) {
    if (contextSize === 0) throw new Error(`context: contextSize is 0, so inputs must be z alone, got [z, h]`);
    assertShape('context', shapes[1], [null, contextSize]);
  }
}

/** Config fields every MADE-based layer round-trips. */
export function madeSpecConfig(spec: MadeSpec): tf.serialization.ConfigDict {
  const config: tf.serialization.ConfigDict = {
    eventSize: spec.eventSize,
    hiddenUnits: spec.hiddenUnits,
    params: spec.params,
    contextSize: spec.contextSize,
    inputOrder: spec.order,
    activation: spec.activation,
  };
  if (spec.seed !== undefined) config.seed = spec.seed;
  return config;
}

export type AutoregressiveNetworkArgs = MadeSpecArgs & FlowLayerArgs;

export class AutoregressiveNetwork extends layers.Layer {
  static className = 'MePropFlows>AutoregressiveNetwork';
  readonly made: Made;

  constructor(args: AutoregressiveNetworkArgs) {
    super(baseLayerArgs(args, 'autoregressive_network'));
    this.made = new Made(resolveMadeSpec(args));
  }

  override build(inputShape: unknown): void {
    assertInputShapes(inputShape, this.made.spec.eventSize, this.made.spec.contextSize);
    this.made.build((n, s, i, t) => this.addWeight(n, s, 'float32', i, undefined, t), '');
    this.built = true;
  }

  override computeOutputShape(inputShape: unknown): (number | null)[] {
    const shapes = inputShapes(inputShape);
    return [shapes[0][0], this.made.spec.eventSize, this.made.spec.params];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const { z, h } = splitInputs(inputs);
    return this.made.apply(z, h);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...madeSpecConfig(this.made.spec) };
  }
}
tf.serialization.registerClass(AutoregressiveNetwork);

/** MADE as a layer: `apply(z)` or `apply([z, h])` gives [batch, eventSize, params]. */
export function autoregressiveNetwork(args: AutoregressiveNetworkArgs): AutoregressiveNetwork {
  return new AutoregressiveNetwork(args);
}
