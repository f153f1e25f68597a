// MePropDenseForward on the `tensorflow` backend (tfjs-node): a meProp Dense layer's forward as three
// TensorFlow ops in one tfjs kernel (BatchMatMulV2, Add, Relu: the ops tfjs-node runs for tf.matMul, tf.add
// and tf.relu, so the output is bit for bit the layer's unfused forward), and its gradient: the relu's and
// the bias's gradients as native ops, the product's from meProp's backward (@meprop/core), unchanged.
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { mePropMatMulGradThunks, withNativeScope } from '@meprop/core';
import { MePropDenseForward, MePropDenseForwardAttrs } from '../kernel_names';

const denseForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b, bias } = inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo };
  const { relu } = attrs as unknown as MePropDenseForwardAttrs;
  return withNativeScope(backend, (s) => {
    const f32 = [s.type('T', 'float32')];
    let y = s.op1('BatchMatMulV2', [...f32, s.bool('adj_x', false), s.bool('adj_y', false)], [s.input(a), s.input(b)]);
    if (bias !== undefined) y = s.op1('Add', f32, [y.id, s.input(bias)]);
    if (relu) y = s.op1('Relu', f32, [y.id]);
    return s.output(y);
  });
};

/**
 * dy of the pre-activation from dy of relu's output y: dy * step(x), exactly as tfjs's relu gradient (with
 * tfjs-node's Step: 1 for x > 0, 0 otherwise, NaN for NaN), computed from y = relu(x): Sign(y) + 0 is that step
 * (the + 0 turns relu(-0) = -0 into +0). Inputs {dy, y}.
 */
export const MePropReluGradFromOutput = 'MePropReluGradFromOutput';
const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
  return withNativeScope(backend, (s) => {
    const f32 = [s.type('T', 'float32')];
    const step = s.op1('AddV2', f32, [s.op1('Sign', f32, [s.input(y)]).id, s.scalarFloat32(0)]);
    return s.output(s.op1('Mul', f32, [s.input(dy), step.id]));
  });
};

const configs: KernelConfig[] = [
  { kernelName: MePropDenseForward, backendName: 'tensorflow', kernelFunc: denseForward },
  { kernelName: MePropReluGradFromOutput, backendName: 'tensorflow', kernelFunc: reluGrad },
];
for (const c of configs) if (tf.getKernel(c.kernelName, c.backendName) === undefined) tf.registerKernel(c);

/**
 * The gradient: lazy thunks as tfjs's tape wants them (dx of a model's first layer is never computed). The
 * weight's thunk is meProp's, with the saved weight as its operand, so an optimizer's sparse-gradient session
 * receives the kept slices exactly as from a plain MePropMatMul.
 */
const denseForwardGrad: GradConfig = {
  kernelName: MePropDenseForward,
  inputsToSave: ['a', 'b'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [a, b, y] = saved;
    const { relu, runtime } = attrs as unknown as MePropDenseForwardAttrs;
    const pre = relu
      ? (tf.engine().runKernel(MePropReluGradFromOutput, { dy: dy as tf.Tensor, y }) as tf.Tensor)
      : (dy as tf.Tensor);
    const g = mePropMatMulGradThunks(pre, a, b, false, false, runtime);
    // tfjs's add gradient for a bias broadcast over the rows: the sum over the rows.
    return { a: g.a, b: g.b, bias: () => tf.sum(pre, 0) };
  },
};
tf.registerGradient(denseForwardGrad);

/** Whether the active backend runs a meProp Dense layer's forward as one kernel (tensorflow). */
export function hasDenseForwardKernel(): boolean {
  return tf.getKernel(MePropDenseForward, tf.getBackend()) !== undefined;
}

/** act(x @ w + bias) through MePropDenseForward: 2-D float32 x and w, bias [N] or null. */
export function denseForwardKernel(
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor | null,
  attrs: MePropDenseForwardAttrs,
): tf.Tensor {
  const inputs: tf.NamedTensorMap = bias === null ? { a: x, b: w } : { a: x, b: w, bias };
  return tf.engine().runKernel(MePropDenseForward, inputs, attrs as unknown as NamedAttrMap) as tf.Tensor;
}
