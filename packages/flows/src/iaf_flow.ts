// A stack of IAF steps (Kingma et al. 2016) with the variable order reversed between steps.
import * as tf from '@tensorflow/tfjs-core';
import { MadeStackLayer } from './made_stack_layer';
import { FlowActivation } from './activation';
import { inputShapes, Made, madeSpecConfig, resolveMadeSpec, splitInputs } from './autoregressive_network';
import { assertStableAndBias, DEFAULT_FORGET_BIAS, ensureBuilt } from './iaf_step';
import { DEFAULT_LOG_SCALE_CLIP, FlowResult, IafTransform } from './iaf_transform';
import { assertPermutation, InputOrder, resolveOrder } from './masks';
import { standardNormalLogProb } from './normal';
import { assertInt } from './validate';
import { baseLayerArgs, FlowLayerArgs } from './layer_args';

export interface IafFlowArgs extends FlowLayerArgs {
  eventSize: number;
  steps: number;
  hiddenUnits: number[];
  contextSize?: number;
  stable?: boolean;
  forgetBias?: number;
  /** Bound on |s| in the affine form (default 15). */
  logScaleClip?: number;
  /** Order of the first step; each later step uses the reverse of the one before. */
  inputOrder?: InputOrder;
  /** Explicit order of every step (what configs store); overrides inputOrder. */
  inputOrders?: number[][];
  activation?: FlowActivation;
  seed?: number;
}

/**
 * The explicit order of each of `steps` steps: `inputOrders` as given (what configs store), or the order of
 * `inputOrder` for the first step and the reverse of the previous one for every later step.
 */
export function stepOrders(
  args: { eventSize: number; inputOrder?: InputOrder; inputOrders?: number[][]; seed?: number },
  steps: number,
): number[][] {
  if (args.inputOrders !== undefined) {
    if (!Array.isArray(args.inputOrders) || args.inputOrders.length !== steps) {
      throw new Error(`inputOrders must hold one permutation per step (${steps}), got ${JSON.stringify(args.inputOrders)}`);
    }
    args.inputOrders.forEach((o, k) => assertPermutation(`inputOrders[${k}]`, o, args.eventSize));
    return args.inputOrders.map((o) => o.slice());
  }
  const orders = [resolveOrder(args.inputOrder ?? 'left-to-right', args.eventSize, args.seed ?? 0)];
  for (let k = 1; k < steps; k++) orders.push(orders[k - 1].slice().reverse());
  return orders;
}

export class IafFlow extends MadeStackLayer<IafTransform> {
  static className = 'MePropFlows>IafFlow';
  override readonly transforms: IafTransform[];

  constructor(args: IafFlowArgs) {
    super(baseLayerArgs(args, 'iaf_flow'));
    assertInt('steps', args.steps, 1);
    const stable = args.stable ?? true;
    const forgetBias = args.forgetBias ?? DEFAULT_FORGET_BIAS;
    const clip = args.logScaleClip ?? DEFAULT_LOG_SCALE_CLIP;
    assertStableAndBias(stable, forgetBias, clip);
    const base = { ...args, params: 2, activation: args.activation ?? 'elu' };
    this.transforms = stepOrders(args, args.steps).map((order, k) => {
      const seed = args.seed === undefined ? undefined : args.seed + k;
      const spec = resolveMadeSpec({ ...base, inputOrder: order, seed });
      return new IafTransform(new Made(spec), stable, forgetBias, clip);
    });
  }

  override computeOutputShape(inputShape: unknown): (number | null)[][] {
    const shapes = inputShapes(inputShape);
    return [shapes[0], [shapes[0][0]]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    const { z, h } = splitInputs(inputs);
    return tf.tidy(() => {
      let x = z;
      let logDet: tf.Tensor1D = tf.zeros([z.shape[0]]);
      for (const t of this.transforms) {
        const r = t.forward(x, h);
        x = r.z;
        logDet = tf.add(logDet, r.logDet);
      }
      return [x, logDet];
    });
  }

  /** eps -> {z, Σ log|det|} in one MADE pass per step. */
  forward(z: tf.Tensor2D, h?: tf.Tensor2D): FlowResult {
    const [out, logDet] = this.apply(h ? [z, h] : z) as tf.Tensor[];
    return { z: out as tf.Tensor2D, logDet: logDet as tf.Tensor1D };
  }

  /** z -> eps in eventSize MADE passes per step. */
  inverse(y: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor2D {
    ensureBuilt(this, y, h);
    return tf.tidy(() => {
      let x = y;
      for (let k = this.transforms.length - 1; k >= 0; k--) x = this.transforms[k].inverse(x, h);
      return x;
    });
  }

  /** Pushes standard-normal noise through the flow: the sample and its log-density under the flow. */
  sample(eps: tf.Tensor2D, h?: tf.Tensor2D): { z: tf.Tensor2D; logProb: tf.Tensor1D } {
    return tf.tidy(() => {
      const r = this.forward(eps, h);
      return { z: r.z, logProb: tf.sub(standardNormalLogProb(eps), r.logDet) as tf.Tensor1D };
    });
  }

  /** log q(z | h) with a standard-normal base, by inverting the flow (exact for the flow's own samples). */
  logProb(z: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const eps = this.inverse(z, h);
      return this.sample(eps, h).logProb;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const t0 = this.transforms[0];
    const spec = madeSpecConfig(t0.made.spec);
    delete spec.inputOrder;
    return {
      ...super.getConfig(),
      ...spec,
      steps: this.transforms.length,
      inputOrders: this.transforms.map((t) => t.made.spec.order),
      stable: t0.stable,
      forgetBias: t0.forgetBias,
      logScaleClip: t0.logScaleClip,
    };
  }
}
tf.serialization.registerClass(IafFlow);

export function iafFlow(args: IafFlowArgs): IafFlow {
  return new IafFlow(args);
}
