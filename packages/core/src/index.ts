// @meprop/core: meProp (Sun et al., ICML 2017) for TensorFlow.js. Sparsified back-propagation through
// matmuls: the forward pass is unchanged; in the backward, dy keeps only its top-k entries.
import * as tf from '@tensorflow/tfjs-core';
import './kernels/register_all_kernels';
import { batchMatMulMePropGradient } from './gradients/batch_mat_mul';
import { conv2dMePropGradient } from './gradients/conv2d';
import { depthwiseConv2dMePropGradient } from './gradients/depthwise_conv2d';
import { fusedConv2dMePropGradient } from './gradients/fused_conv2d';
import { fusedMatMulMePropGradient } from './gradients/fused_mat_mul';
import { mePropConv2DGradConfig } from './gradients/me_prop_conv2d_grad';
import { mePropMatMulGradConfig } from './gradients/me_prop_mat_mul_grad';
import { registerMePropGradient } from './registry';

registerMePropGradient(batchMatMulMePropGradient);
registerMePropGradient(fusedMatMulMePropGradient);
// mePropMatMul's own kernel: its gradient is always meProp's (no scope needed).
tf.registerGradient(mePropMatMulGradConfig);
// mePropConv2d / mePropDepthwiseConv2d's kernel, likewise.
tf.registerGradient(mePropConv2DGradConfig);
registerMePropGradient(conv2dMePropGradient);
registerMePropGradient(fusedConv2dMePropGradient);
registerMePropGradient(depthwiseConv2dMePropGradient);

export { ME_PROP_MODES, keptCount, validateMePropConfig } from './config';
export type { MePropConfig, MePropMode, ResolvedMePropConfig } from './config';
export { mePropMatMul, mePropMatMulGrads, mePropMatMulSliceGrads } from './me_prop_mat_mul';
// The runtime (config + random stream) a config object uses in mePropMatMul: for layers that run meProp's
// backward from a kernel of their own (mePropMatMulGradThunks) and must share the stream.
export { runtimeFor } from './me_prop_mat_mul';
export { mePropConv2d, mePropDepthwiseConv2d } from './me_prop_conv2d';
export type { MePropConv2dOptions, MePropConvOptions } from './me_prop_conv2d';
export {
  activeMePropConfig,
  enableMeProp,
  mePropKernelNames,
  registerMePropGradient,
  unregisterMePropGradient,
  withMeProp,
} from './registry';
export type { GradientThunks, MePropGradientContext, MePropGradientSpec, MePropHandle, MePropScopeConfig } from './registry';
export type { LayerWithWeights, MePropExclude } from './gradients/excluded_operands';
export { exactMatMulGrads, mePropMatMulGradThunks } from './sparse_backward';
export type { MatMulGradThunks, MePropRuntime } from './sparse_backward';
export { FUSED_MAT_MUL_TAPE_NAME } from './gradients/fused_mat_mul';
export { FUSED_CONV2D_TAPE_NAME } from './gradients/fused_conv2d';
export {
  exactConv2dGrads,
  exactDepthwiseGrads,
  mePropConv2dActGradThunks,
  mePropConv2dGradThunks,
  mePropDepthwiseGradThunks,
} from './conv_backward';
export type { ConvActGradThunks, ConvAttrs, ConvGradThunks, DepthwiseAttrs } from './conv_backward';
export { hasMePropKernels } from './selection';
export { getMePropStats, resetMePropStats } from './stats';
export { Rng } from './rng';
export type { MePropStats } from './stats';
export { MePropMatMul, MePropSelect, MePropSparseGradA, MePropSparseGradB } from './kernel_names';
export type { MePropMatMulAttrs } from './kernel_names';
// Conv kernel names, for packages that register faster kernels of them (e.g. @meprop/tfjs-node-ops).
export {
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
} from './kernel_names';
export type {
  MePropConv2DAttrs,
  MePropConvSelectChannelsActAttrs,
  MePropConvSelectChannelsAttrs,
  MePropConvSelectPositionsActAttrs,
  MePropConvSelectPositionsAttrs,
  MePropConvUnifiedBackwardAttrs,
  MePropSparseConvGradAttrs,
} from './kernel_names';
export { batchMatMulDelegate } from './kernels/me_prop_mat_mul_forward';
// For authors of kernels on cpu and wasm (e.g. @meprop/layers' lazy optimizer and forward kernels).
export { cpuMemory } from './kernels/cpu/register';
export { wasmMemory } from './kernels/wasm/register';
export type { HostMemoryAdapter } from './kernels/host/host_kernels';
// Sparse weight gradients handed from meProp's backward to an optimizer (see sparse_gradients.ts).
export { beginSparseGradients, SparseGradientZeros } from './sparse_gradients';
export type { ResolvedGradient, SparseGradientSession, SparseSlices } from './sparse_gradients';
// For authors of kernels on tfjs-node's `tensorflow` backend (e.g. @meprop/layers' sparse optimizer step).
export { NativeScope, NativeVariable, withNativeScope, isNativeTensorflowBackend } from './kernels/tensorflow/native_ops';
export type { NativeAttr, NativeTensor, TfBinding } from './kernels/tensorflow/native_ops';
export { convOpAttrs } from './kernels/tensorflow/conv_unified';
