// The dense lazy step (MePropLazyUpdate: a full gradient, all-zero columns skipped) on the `tensorflow`
// backend, as TensorFlow ops on raw handles: about a dozen ops per weight at a few µs each, instead of the
// composite's tfjs ops at tens of µs each. Used by applyGradients with dense gradients (and by minimize for
// the weights whose gradients are not sparse: biases, exact layers).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { withNativeScope } from '@meprop/core';
import { MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernels/kernel_names';
import { binary, step } from './native_rules';

const lazyUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as MePropLazyUpdateAttrs;
  const { value, grad } = inputs as Record<string, TensorInfo>;
  const slotInfos = [inputs.slot0, inputs.slot1].filter((t): t is TensorInfo => t !== undefined);
  return withNativeScope(backend, (s) => {
    const w = s.input(value);
    const g = s.input(grad);
    const old = slotInfos.map((t) => s.input(t));
    let { delta, slots } = step(s, a, g, old);
    // Every tensor here has the weight's shape; the lazy step views it as [rows, cols] (a reshape only if it differs).
    const shape = value.shape;
    const same = !a.lazy || (shape.length === 2 && shape[0] === a.rows && shape[1] === a.cols);
    const asMatrix = (t: number) => (same ? t : s.reshape(t, [a.rows, a.cols]).id);
    const asValue = (t: number) => (same ? { id: t, shape, dtype: s.binding.TF_FLOAT } : s.reshape(t, shape));
    if (a.lazy) {
      // A column takes part when any entry of its gradient is non-zero (NaN counts, as NaN != 0: it must propagate).
      const g2 = asMatrix(g);
      const nonZero = s.op1(
        'NotEqual',
        [s.type('T', 'float32'), s.bool('incompatible_shape_error', true)],
        [g2, s.scalarFloat32(0)],
      );
      const touched = s.op1('Any', [s.bool('keep_dims', true), s.type('Tidx', 'int32')], [nonZero.id, s.scalarInt32(0)]).id; // [1, cols]
      const keep = (t: number, otherwise: number) =>
        s.op1('SelectV2', [s.type('T', 'float32')], [touched, asMatrix(t), otherwise]).id;
      delta = keep(delta, s.scalarFloat32(0));
      slots = slots.map((t, i) => keep(t, asMatrix(old[i])));
    }
    return [s.output(asValue(binary(s, 'Sub', w, asValue(delta).id))), ...slots.map((t) => s.output(asValue(t)))];
  });
};

const config: KernelConfig = { kernelName: MePropLazyUpdate, backendName: 'tensorflow', kernelFunc: lazyUpdate };
if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
