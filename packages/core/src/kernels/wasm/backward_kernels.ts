// Backward kernels that tfjs 4.22's wasm backend lacks and that training conv nets (Conv2D, Conv1D,
// DepthwiseConv2D, SeparableConv2D) and Embedding layers needs. Plain tfjs training on wasm uses them too.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './conv2d_backprop_filter';
import { wasmDepthwiseBackpropFilterConfig, wasmDepthwiseBackpropInputConfig } from './depthwise_conv2d_backprop';
import { wasmUnsortedSegmentSumConfig } from './unsorted_segment_sum';

export const wasmBackwardKernelConfigs: KernelConfig[] = [
  wasmConv2DBackpropFilterConfig,
  wasmDepthwiseBackpropFilterConfig,
  wasmDepthwiseBackpropInputConfig,
  wasmUnsortedSegmentSumConfig,
];
