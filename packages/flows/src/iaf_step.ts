// One IAF transformation as a layer: apply(z) or apply([z, h]) gives [z', logDet].
import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { FlowActivation } from './activation';
import { assertInputShapes, inputShapes, Made, madeSpecConfig, resolveMadeSpec, splitInputs } from './autoregressive_network';
import { DEFAULT_LOG_SCALE_CLIP, FlowResult, IafTransform } from './iaf_transform';
import { InputOrder } from './masks';
import { assertFinite } from './validate';
import { baseLayerArgs, FlowLayerArgs } from './layer_args';

/** Pyro's default: σ = sigmoid(s + 2) starts near 0.88, so each step starts close to the identity. */
export const DEFAULT_FORGET_BIAS = 2;

export interface IafStepArgs extends FlowLayerArgs {
  eventSize: number;
  hiddenUnits: number[];
  contextSize?: number;
  /** true (default): the sigmoid-gated form; false: z' = m + exp(s)⊙z. */
  stable?: boolean;
  forgetBias?: number;
  /** Bound on |s| in the affine form (default 15); the stable form needs none. */
  logScaleClip?: number;
  inputOrder?: InputOrder;
  activation?: FlowActivation;
  seed?: number;
}

export function assertStableAndBias(stable: unknown, forgetBias: unknown, logScaleClip: unknown): void {
  if (typeof stable !== 'boolean') throw new Error(`stable must be a boolean, got ${String(stable)}`);
  assertFinite('forgetBias', forgetBias);
  assertLogScaleClip(logScaleClip);
}

export function assertLogScaleClip(logScaleClip: unknown): asserts logScaleClip is number {
  assertFinite('logScaleClip', logScaleClip);
  if (logScaleClip <= 0) throw new Error(`logScaleClip must be > 0, got ${logScaleClip}`);
}

export class IafStep extends layers.Layer {
  static className = 'MePropFlows>IafStep';
  readonly transform: IafTransform;

  constructor(args: IafStepArgs) {
    super(baseLayerArgs(args, 'iaf_step'));
    const spec = resolveMadeSpec({ ...args, params: 2, activation: args.activation ?? 'elu' });
    const stable = args.stable ?? true;
    const forgetBias = args.forgetBias ?? DEFAULT_FORGET_BIAS;
    const clip = args.logScaleClip ?? DEFAULT_LOG_SCALE_CLIP;
    assertStableAndBias(stable, forgetBias, clip);
    this.transform = new IafTransform(new Made(spec), stable, forgetBias, clip);
  }

  get eventSize(): number {
    return this.transform.made.spec.eventSize;
  }

  get contextSize(): number {
    return this.transform.made.spec.contextSize;
  }

  override build(inputShape: unknown): void {
    const { eventSize, contextSize } = this.transform.made.spec;
    assertInputShapes(inputShape, eventSize, contextSize);
    this.transform.made.build((n, s, i, t) => this.addWeight(n, s, 'float32', i, undefined, t), '');
    this.built = true;
  }

  override computeOutputShape(inputShape: unknown): (number | null)[][] {
    const shapes = inputShapes(inputShape);
    return [shapes[0], [shapes[0][0]]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const { z, h } = splitInputs(inputs);
    const r = this.transform.forward(z, h);
    return [r.z, r.logDet];
  }

  /** z -> {z', log|det ∂z'/∂z|} in one MADE pass. */
  forward(z: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    const [out, logDet] = this.apply(h ? [z, h] : z) as tf.Tensor[];
    return { z: out as tf.Tensor2D, logDet: logDet as tf.Tensor1D };
  }

  /** z' -> z in eventSize MADE passes. */
  inverse(y: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor2D {
    ensureBuilt(this, y, h);
    return this.transform.inverse(y, h);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { stable, forgetBias, logScaleClip, made } = this.transform;
    return { ...super.getConfig(), ...madeSpecConfig(made.spec), stable, forgetBias, logScaleClip };
  }
}
tf.serialization.registerClass(IafStep);

/** Builds a layer's weights from concrete inputs, for the methods that do not go through `apply`. */
export function ensureBuilt(layer: layers.Layer, z: tf.Tensor2D, h?: tf.Tensor2D): void {
  if (layer.built) return;
  const out = layer.apply(h ? [z, h] : z) as tf.Tensor | tf.Tensor[];
  tf.dispose(out);
}

export function iafStep(args: IafStepArgs): IafStep {
  return new IafStep(args);
}
