// Masked Autoregressive Flow (Papamakarios et al. 2017): the MADE reads the data side, so the density of
// external data takes one pass per step and sampling takes eventSize passes per step.
import * as tf from '@tensorflow/tfjs-core';
import { MadeStackLayer } from './made_stack_layer';
import { FlowActivation } from './activation';
import { inputShapes, Made, madeSpecConfig, resolveMadeSpec, splitInputs } from './autoregressive_network';
import { stepOrders } from './iaf_flow';
import { assertLogScaleClip, ensureBuilt } from './iaf_step';
import { DEFAULT_LOG_SCALE_CLIP, FlowResult, shiftAndLogScale } from './iaf_transform';
import { InputOrder } from './masks';
import { standardNormalLogProb } from './normal';
import { assertInt } from './validate';
import { baseLayerArgs, FlowLayerArgs } from './layer_args';

export interface MafFlowArgs extends FlowLayerArgs {
  eventSize: number;
  hiddenUnits: number[];
  steps?: number;
  contextSize?: number;
  /** Bound on |s| (default 15): exp(±s) of an unbounded s overflows for data far out. */
  logScaleClip?: number;
  inputOrder?: InputOrder;
  inputOrders?: number[][];
  activation?: FlowActivation;
  seed?: number;
}

/** Sampling direction of one step: x = u⊙exp(s) + m with [m, s] = MADE(x, h). */
class MafTransform {
  constructor(
    readonly made: Made,
    readonly logScaleClip: number,
  ) {}

  /** x -> {u, log|det ∂u/∂x| = −Σ s} in one pass. */
  toNoise(x: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    return tf.tidy(() => {
      const [m, s] = shiftAndLogScale(this.made, x, h, this.logScaleClip);
      return { z: tf.mul(tf.sub(x, m), tf.exp(tf.neg(s))) as tf.Tensor2D, logDet: tf.neg(tf.sum(s, 1)) as tf.Tensor1D };
    });
  }

  /** u -> {x, log|det ∂x/∂u| = Σ s} in eventSize passes. */
  toData(u: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.zerosLike(u);
      let s: tf.Tensor2D = tf.zerosLike(u);
      for (let pass = 0; pass < this.made.spec.eventSize; pass++) {
        const [m, sNew] = shiftAndLogScale(this.made, x, h, this.logScaleClip);
        s = sNew;
        x = tf.add(tf.mul(u, tf.exp(s)), m);
      }
      return { z: x, logDet: tf.sum(s, 1) as tf.Tensor1D };
    });
  }
}

export class MafFlow extends MadeStackLayer<MafTransform> {
  static className = 'MePropFlows>MafFlow';
  protected override readonly transforms: MafTransform[];

  constructor(args: MafFlowArgs) {
    super(baseLayerArgs(args, 'maf_flow'));
    const steps = args.steps ?? 1;
    assertInt('steps', steps, 1);
    const clip = args.logScaleClip ?? DEFAULT_LOG_SCALE_CLIP;
    assertLogScaleClip(clip);
    const base = { ...args, params: 2, activation: args.activation ?? 'elu' };
    this.transforms = stepOrders(args, steps).map((order, k) => {
      const seed = args.seed === undefined ? undefined : args.seed + k;
      return new MafTransform(new Made(resolveMadeSpec({ ...base, inputOrder: order, seed })), clip);
    });
  }

  override computeOutputShape(inputShape: unknown): (number | null)[] {
    const shapes = inputShapes(inputShape);
    return [shapes[0][0]];
  }

  /** apply(x) or apply([x, h]) gives log p(x | h) per example. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const { z, h } = splitInputs(inputs);
    return tf.tidy(() => {
      const r = this.noiseOf(z, h);
      return tf.add(standardNormalLogProb(r.z), r.logDet);
    });
  }

  private noiseOf(x: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    return tf.tidy(() => {
      let u = x;
      let logDet: tf.Tensor1D = tf.zeros([x.shape[0]]);
      for (let k = this.transforms.length - 1; k >= 0; k--) {
        const r = this.transforms[k].toNoise(u, h);
        u = r.z;
        logDet = tf.add(logDet, r.logDet);
      }
      return { z: u, logDet };
    });
  }

  /** log p(x | h) of external data, one MADE pass per step. */
  logProb(x: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor1D {
    return this.apply(h ? [x, h] : x) as tf.Tensor1D;
  }

  /** Data -> noise with log|det ∂u/∂x|, one MADE pass per step. */
  inverse(x: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    ensureBuilt(this, x, h);
    return this.noiseOf(x, h);
  }

  /** Noise -> data with log|det ∂x/∂u|, eventSize MADE passes per step. */
  forward(u: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    ensureBuilt(this, u, h);
    return tf.tidy(() => {
      let x = u;
      let logDet: tf.Tensor1D = tf.zeros([u.shape[0]]);
      for (const t of this.transforms) {
        const r = t.toData(x, h);
        x = r.z;
        logDet = tf.add(logDet, r.logDet);
      }
      return { z: x, logDet };
    });
  }

  /** Samples given standard-normal noise eps. */
  sample(eps: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.forward(eps, h).z);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const spec = madeSpecConfig(this.transforms[0].made.spec);
    delete spec.inputOrder;
    return {
      ...super.getConfig(),
      ...spec,
      steps: this.transforms.length,
      inputOrders: this.transforms.map((t) => t.made.spec.order),
      logScaleClip: this.transforms[0].logScaleClip,
    };
  }
}
tf.serialization.registerClass(MafFlow);

export function mafFlow(args: MafFlowArgs): MafFlow {
  return new MafFlow(args);
}
