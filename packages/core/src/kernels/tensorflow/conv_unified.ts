// meProp's unified conv backward on the `tensorflow` backend, as TensorFlow ops run through tfjs-node's binding
// (no read of dy back to JavaScript, no tfjs tensor for any intermediate):
// - select: Σ|dy| over the batch and positions (a [1, P] ones row times |dy| [P, CO]: about 2.5× faster here
//   than TensorFlow's column Sum, and NaN-safe, since 1·NaN = NaN), NaN scores to +∞, TopKV2, and the k kept
//   channels of dy gathered from its [P, CO] view (a 2-D gather ran about 2× faster than one on axis 3);
// - dx: the filter's k kept output channels gathered, then Conv2DBackpropInput on k channels;
// - dW: Conv2DBackpropFilter on k channels, scattered into the kept output channels of a zero filter gradient
//   (ScatterNd on the transposed [CO, FH·FW·CI] layout, then one transpose back: exact, also for NaN).
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  MePropSparseConvGradAttrs,
  MePropConvSelectChannels,
  MePropConvSelectChannelsAttrs,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
} from '../../kernel_names';
import { NativeAttr, NativeScope, TfBinding, withNativeScope } from './native_ops';

type Shape4 = [number, number, number, number];

interface ConvBinding extends TfBinding {
  TF_ATTR_STRING: number;
}

/** [1, P] rows of ones, kept for the process (one per P seen): the Σ over positions as a matmul. */
const onesRows = new Map<number, number>();

function onesRow(s: NativeScope, P: number): number {
  let id = onesRows.get(P);
  if (id === undefined) {
    id = s.binding.createTensor([1, P], s.binding.TF_FLOAT, new Float32Array(P).fill(1));
    onesRows.set(P, id);
  }
  return id;
}

function convInfo(a: MePropSparseConvGradAttrs, filterShape: number[]): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    a.inputShape as Shape4,
    filterShape as Shape4,
    a.strides as number | [number, number],
    1,
    a.pad as 'valid' | 'same',
    a.dimRoundingMode === '' ? undefined : (a.dimRoundingMode as 'floor' | 'round' | 'ceil'),
  );
}

/** The attributes of TensorFlow's Conv2DBackprop* ops (NHWC, 'VALID' or 'SAME' only: checked by the caller). */
/** The attrs of TensorFlow's Conv2D (and its backprops) for a conv of `info` (NHWC; 'valid' or 'same' padding). */
export function convOpAttrs(s: NativeScope, info: backend_util.Conv2DInfo): NativeAttr[] {
  const b = s.binding as ConvBinding;
  if (typeof b.TF_ATTR_STRING !== 'number')
    throw new Error('meProp tensorflow conv kernel: tfjs-node binding has no TF_ATTR_STRING');
  if (info.padInfo.type !== 'VALID' && info.padInfo.type !== 'SAME') {
    throw new Error(`meProp tensorflow conv kernel: pad must be 'valid' or 'same', got ${info.padInfo.type}`);
  }
  return [
    s.type('T', 'float32'),
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
    { name: 'padding', type: b.TF_ATTR_STRING, value: info.padInfo.type },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
    s.bool('use_cudnn_on_gpu', true),
  ];
}

const selectChannels: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const { k } = attrs as unknown as MePropConvSelectChannelsAttrs;
  const [B, OH, OW, CO] = dy.shape;
  const P = B * OH * OW;
  return withNativeScope(backend, (s) => {
    const dy2 = s.reshape(s.input(dy), [P, CO]);
    const abs = s.op1('Abs', [s.type('T', 'float32')], [dy2.id]);
    const total = s.reshape(s.matMul(onesRow(s, P), abs.id, false, false).id, [CO]);
    const nan = s.op1('IsNan', [s.type('T', 'float32')], [total.id]);
    const score = s.op1('SelectV2', [s.type('T', 'float32')], [nan.id, s.scalarFloat32(Infinity), total.id]);
    const [, idx] = s.topK(score.id, k);
    const values = s.reshape(s.gather(dy2.id, idx.id, 1).id, [B, OH, OW, k]);
    return [s.output(idx), s.output(values)];
  });
};

const unifiedGradInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dyK, channels, filter } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const [FH, FW, CI] = filter.shape;
  const k = channels.shape[0];
  return withNativeScope(backend, (s) => {
    const wK = s.gather(s.input(filter), s.input(channels), 3); // [FH, FW, CI, k]
    const sizes = s.constInt32([4], a.inputShape);
    const opAttrs = convOpAttrs(s, convInfo(a, [FH, FW, CI, k]));
    return s.output(s.op1('Conv2DBackpropInput', opAttrs, [sizes, wK.id, s.input(dyK)]));
  });
};

const unifiedGradFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dyK, channels, x } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const [FH, FW, CI, CO] = a.filterShape;
  const k = channels.shape[0];
  const K = FH * FW * CI;
  return withNativeScope(backend, (s) => {
    const opAttrs = convOpAttrs(s, convInfo(a, [FH, FW, CI, k]));
    const sizes = s.constInt32([4], [FH, FW, CI, k]);
    const dWk = s.op1('Conv2DBackpropFilter', opAttrs, [s.input(x), sizes, s.input(dyK)]);
    const rows = s.transpose2D(s.reshape(dWk.id, [K, k]).id); // [k, K]
    const scattered = s.scatterNd(s.reshape(s.input(channels), [k, 1], 'int32').id, rows.id, [CO, K]);
    return s.output(s.reshape(s.transpose2D(scattered.id).id, [FH, FW, CI, CO]));
  });
};

export const tensorflowConvUnifiedConfigs: KernelConfig[] = [
  { kernelName: MePropConvSelectChannels, backendName: 'tensorflow', kernelFunc: selectChannels },
  { kernelName: MePropConvUnifiedGradInput, backendName: 'tensorflow', kernelFunc: unifiedGradInput },
  { kernelName: MePropConvUnifiedGradFilter, backendName: 'tensorflow', kernelFunc: unifiedGradFilter },
];
