// meProp's unified conv backward on the `tensorflow` backend as native ops (native/conv_unified.cc), in place of
// @meprop/core's stock-op kernels of the same names:
// - MePropConvSelectChannels: Σ|dy| per output channel, top-k and the gather of dy at the k channels in one op
//   (two passes over dy, nothing read back to JavaScript);
// - MePropConvSelectChannelsAct: the same on dz = dy · relu'(y) (or dy), plus Σdz per channel (the bias
//   gradient): a conv layer's activation and bias backward fused into its selection;
// - MePropConvUnifiedGradInput / MePropConvUnifiedGradFilter: the k-channel backprop-input and backprop-filter
//   as register-tiled loops over the kept channels only, the filter gradient written straight into its k output
//   channels (no gather of the filter, no scatter, no transpose). Any padding (valid, same, explicit numbers),
//   strides and dilations.
// - MePropConvUnifiedBackward: all of the above in one op call (selection, dx, dW, bias gradient), dy_k in a
//   buffer of the op's own: two op calls (and a dy_k tensor) fewer per unified backward.
import { backend_util, getKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  convOpAttrs,
  MePropConv2D,
  MePropConvSelectChannels,
  MePropConvSelectChannelsAct,
  MePropConvSelectPositions,
  MePropConvSelectPositionsAct,
  MePropConvUnifiedBackward,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  MePropSparseConvGradFilter,
  MePropSparseConvGradInput,
  withNativeScope,
} from '@meprop/core';
import type {
  MePropConv2DAttrs,
  MePropConvUnifiedBackwardAttrs,
  MePropSparseConvGradAttrs,
  NativeAttr,
  NativeScope,
} from '@meprop/core';

type Shape4 = [number, number, number, number];

/** The geometry attributes of the native conv ops, from the kernel's attributes (as tfjs computes them). */
function geometry(s: NativeScope, a: MePropSparseConvGradAttrs, filterShape: number[], op: string): NativeAttr[] {
  const info = conv2DInfo(a, filterShape, op);
  return [
    s.int('stride_h', info.strideHeight),
    s.int('stride_w', info.strideWidth),
    s.int('dilation_h', info.dilationHeight),
    s.int('dilation_w', info.dilationWidth),
    s.int('pad_top', info.padInfo.top),
    s.int('pad_left', info.padInfo.left),
  ];
}

function conv2DInfo(a: MePropSparseConvGradAttrs, filterShape: number[], op: string): backend_util.Conv2DInfo {
  if (a.inputShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`${op} (native): inputShape and filterShape must have rank 4, got [${a.inputShape}] and [${filterShape}]`);
  }
  return backend_util.computeConv2DInfo(
    a.inputShape as Shape4,
    filterShape as Shape4,
    a.strides as number | [number, number],
    a.dilations as number | [number, number],
    a.pad as 'valid' | 'same' | number | backend_util.ExplicitPadding,
    a.dimRoundingMode === '' ? undefined : (a.dimRoundingMode as 'floor' | 'round' | 'ceil'),
  );
}

function checkFloat(t: TensorInfo, name: string, op: string): void {
  if (t.dtype !== 'float32') throw new Error(`${op} (native): ${name} must be float32, got ${t.dtype}`);
}

function checkK(k: unknown, channels: number, op: string): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > channels) {
    throw new Error(`${op} (native): attrs.k must be an integer in [1, ${channels}], got ${String(k)}`);
  }
  return k;
}

/** Checks attrs.activation ('relu' needs y shaped like dy); true for 'relu'. */
function checkActivation(activation: unknown, dy: TensorInfo, y: TensorInfo | undefined, op: string): boolean {
  if (activation !== 'relu' && activation !== 'linear') {
    throw new Error(`${op} (native): attrs.activation must be 'relu' or 'linear', got ${String(activation)}`);
  }
  if (activation === 'linear') return false;
  if (y === undefined) throw new Error(`${op} (native): inputs.y is required with activation 'relu'`);
  checkFloat(y, 'y', op);
  if (y.shape.join() !== dy.shape.join()) throw new Error(`${op} (native): y's shape [${y.shape}] must equal dy's [${dy.shape}]`);
  return true;
}

/**
 * The four selection kernels: `native` ('MePropConvSelect' for unified channels, 'MePropConvSelectPositions'
 * per position) on dy, with the activation's derivative (from the saved output y) and the bias gradient fused
 * when `act`. Outputs [indices, dy (or dz) there] and, with `act`, Σdz per channel.
 */
function selectKernel(kernel: string, native: string, act: boolean): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, y } = inputs as Record<string, TensorInfo>;
    checkFloat(dy, 'dy', kernel);
    const a = attrs as unknown as { k: number; activation?: unknown };
    const k = checkK(a.k, dy.shape[dy.shape.length - 1], kernel);
    const relu = act && checkActivation(a.activation, dy, y, kernel);
    return withNativeScope(backend, (s) => {
      const dyId = s.input(dy);
      const yId = relu ? s.input(y) : dyId;
      const out = s.op(native, [s.int('k', k), s.bool('relu', relu)], [dyId, yId], 3);
      return (act ? out : out.slice(0, 2)).map((t) => s.output(t));
    });
  };
}

const unifiedGradInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dyK, channels, filter } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const op = MePropConvUnifiedGradInput;
  checkFloat(dyK, 'dyK', op);
  checkFloat(filter, 'filter', op);
  return withNativeScope(backend, (s) => {
    const opAttrs = [s.int('input_h', a.inputShape[1]), s.int('input_w', a.inputShape[2]), ...geometry(s, a, filter.shape, op)];
    return s.output(s.op1('MePropConvUnifiedGradInput', opAttrs, [s.input(dyK), s.input(channels), s.input(filter)]));
  });
};

const unifiedGradFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dyK, channels, x } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const op = MePropConvUnifiedGradFilter;
  checkFloat(dyK, 'dyK', op);
  checkFloat(x, 'x', op);
  const [FH, FW, , CO] = a.filterShape;
  return withNativeScope(backend, (s) => {
    const opAttrs = [
      s.int('filter_h', FH),
      s.int('filter_w', FW),
      s.int('out_channels', CO),
      ...geometry(s, a, a.filterShape, op),
    ];
    return s.output(s.op1('MePropConvUnifiedGradFilter', opAttrs, [s.input(x), s.input(dyK), s.input(channels)]));
  });
};

const unifiedBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, y, x, filter } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as MePropConvUnifiedBackwardAttrs;
  const op = MePropConvUnifiedBackward;
  if (dy === undefined || x === undefined || filter === undefined)
    throw new Error(`${op} (native): inputs dy, x and filter are required`);
  checkFloat(dy, 'dy', op);
  checkFloat(x, 'x', op);
  checkFloat(filter, 'filter', op);
  const k = checkK(a.k, dy.shape[dy.shape.length - 1], op);
  const relu = checkActivation(a.activation, dy, y, op);
  return withNativeScope(backend, (s) => {
    const dyId = s.input(dy);
    const opAttrs = [
      s.int('k', k),
      s.bool('relu', relu),
      s.bool('with_dx', a.withDx),
      s.bool('with_dw', a.withDw),
      ...geometry(s, a, filter.shape, op),
    ];
    const ins = [dyId, relu ? s.input(y as TensorInfo) : dyId, s.input(x), s.input(filter)];
    return s.op('MePropConvUnifiedBackward', opAttrs, ins, 3).map((t) => s.output(t));
  });
};

function checkEntries(indices: TensorInfo, values: TensorInfo, op: string): void {
  if (indices.dtype !== 'int32') throw new Error(`${op} (native): indices must be int32, got ${indices.dtype}`);
  checkFloat(values, 'values', op);
}

// Per-position (per-example and random) products from the kept entries of dy [P, k].
const sparseGradInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, filter } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const op = MePropSparseConvGradInput;
  checkEntries(indices, values, op);
  checkFloat(filter, 'filter', op);
  const info = conv2DInfo(a, filter.shape, op);
  return withNativeScope(backend, (s) => {
    const opAttrs = [
      s.int('input_h', a.inputShape[1]),
      s.int('input_w', a.inputShape[2]),
      s.int('output_h', info.outHeight),
      s.int('output_w', info.outWidth),
      ...geometry(s, a, filter.shape, op),
    ];
    return s.output(s.op1('MePropConvSparseGradInput', opAttrs, [s.input(indices), s.input(values), s.input(filter)]));
  });
};

const sparseGradFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, x } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as MePropSparseConvGradAttrs;
  const op = MePropSparseConvGradFilter;
  checkEntries(indices, values, op);
  checkFloat(x, 'x', op);
  const info = conv2DInfo(a, a.filterShape, op);
  const [FH, FW, , CO] = a.filterShape;
  return withNativeScope(backend, (s) => {
    const opAttrs = [
      s.int('filter_h', FH),
      s.int('filter_w', FW),
      s.int('out_channels', CO),
      s.int('output_h', info.outHeight),
      s.int('output_w', info.outWidth),
      ...geometry(s, a, a.filterShape, op),
    ];
    return s.output(s.op1('MePropConvSparseGradFilter', opAttrs, [s.input(indices), s.input(values), s.input(x)]));
  });
};

/**
 * MePropConv2D's forward: with a fused bias/activation and 'valid'/'same' padding, TensorFlow's Conv2D and then
 * MePropBiasAct (bias and ReLU in one pass, in place where TensorFlow allows) instead of tfjs-node's FusedConv2D
 * (Conv2D, AddV2, Relu: three ops, two extra tensors). Everything else goes to tfjs-node's own kernels, as
 * @meprop/core's forward does.
 */
const convForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as MePropConv2DAttrs;
  const { x, filter, bias } = inputs as Record<string, TensorInfo | undefined>;
  const dilations = 1;
  const plainAttrs = { strides: a.strides, pad: a.pad, dimRoundingMode: a.dimRoundingMode, dataFormat: 'NHWC', dilations };
  const delegate = (name: string, extra: Record<string, unknown> = {}) => {
    const kernel = getKernel(name, 'tensorflow');
    if (kernel === undefined) throw new Error(`${MePropConv2D} (native): tfjs-node has no ${name} kernel`);
    return kernel.kernelFunc({ inputs, backend, attrs: { ...plainAttrs, ...extra } as unknown as NamedAttrMap });
  };
  if (a.activation === undefined) return delegate(a.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D');
  if (a.pad !== 'valid' && a.pad !== 'same') return delegate('FusedConv2D', { activation: a.activation });
  const X = x as TensorInfo;
  const F = filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    X.shape as Shape4,
    F.shape as Shape4,
    a.strides,
    dilations,
    a.pad,
    a.dimRoundingMode,
  );
  return withNativeScope(backend, (s) => {
    const convAttrs = convOpAttrs(s, info);
    const z = s.op1('Conv2D', convAttrs, [s.input(X), s.input(F)]);
    const relu = a.activation === 'relu';
    if (bias !== undefined) return s.output(s.op1('MePropBiasAct', [s.bool('relu', relu)], [z.id, s.input(bias)]));
    return s.output(relu ? s.op1('Relu', [s.type('T', 'float32')], [z.id]) : z);
  });
};

const selection = (kernelName: string, native: string, act: boolean): KernelConfig => ({
  kernelName,
  backendName: 'tensorflow',
  kernelFunc: selectKernel(kernelName, native, act),
});

/** The conv kernels for the `tensorflow` backend (index.ts installs them once the native ops load). */
export const nativeConvKernelConfigs: KernelConfig[] = [
  { kernelName: MePropConv2D, backendName: 'tensorflow', kernelFunc: convForward },
  selection(MePropConvSelectChannels, 'MePropConvSelect', false),
  selection(MePropConvSelectChannelsAct, 'MePropConvSelect', true),
  { kernelName: MePropConvUnifiedGradInput, backendName: 'tensorflow', kernelFunc: unifiedGradInput },
  { kernelName: MePropConvUnifiedGradFilter, backendName: 'tensorflow', kernelFunc: unifiedGradFilter },
  { kernelName: MePropConvUnifiedBackward, backendName: 'tensorflow', kernelFunc: unifiedBackward },
  selection(MePropConvSelectPositions, 'MePropConvSelectPositions', false),
  selection(MePropConvSelectPositionsAct, 'MePropConvSelectPositions', true),
  { kernelName: MePropSparseConvGradInput, backendName: 'tensorflow', kernelFunc: sparseGradInput },
  { kernelName: MePropSparseConvGradFilter, backendName: 'tensorflow', kernelFunc: sparseGradFilter },
];
