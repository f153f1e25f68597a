// DepthwiseConv2dNativeBackpropFilter and ...BackpropInput for tfjs's `wasm` backend (missing in tfjs 4.22,
// so DepthwiseConv2D and SeparableConv2D layers cannot train there): the loops of
// host/depthwise_conv2d_backprop.ts on views of the wasm heap.
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from '../host/depthwise_conv2d_backprop';
import { wasmMemory } from './register';

type Shape4 = [number, number, number, number];

interface DepthwiseBackpropAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfo(xShape: number[], filterShape: number[], a: DepthwiseBackpropAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
}

function float32(view: Float32Array | Int32Array, name: string): Float32Array {
  if (!(view instanceof Float32Array)) throw new Error(`meProp wasm depthwise backprop: ${name} must be float32`);
  return view;
}

const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseBackpropAttrs & { filterShape: Shape4 };
  const info = convInfo(x.shape, a.filterShape, a);
  const out = wasmMemory.alloc(backend, a.filterShape, 'float32');
  const o = float32(wasmMemory.view(backend, out), 'dW');
  o.fill(0);
  depthwiseBackpropFilter(info, float32(wasmMemory.view(backend, x), 'x'), float32(wasmMemory.view(backend, dy), 'dy'), o);
  return out;
};

const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseBackpropAttrs & { inputShape: Shape4 };
  const info = convInfo(a.inputShape, filter.shape, a);
  const out = wasmMemory.alloc(backend, a.inputShape, 'float32');
  const o = float32(wasmMemory.view(backend, out), 'dx');
  o.fill(0);
  depthwiseBackpropInput(
    info,
    float32(wasmMemory.view(backend, dy), 'dy'),
    float32(wasmMemory.view(backend, filter), 'filter'),
    o,
  );
  return out;
};

export const wasmDepthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: backpropFilter,
};

export const wasmDepthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: backpropInput,
};
