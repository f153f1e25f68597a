// Registers meProp's kernels for the backends that have them, and the backward kernels tfjs's wasm backend
// lacks (only where no kernel of that name is registered yet). Importing @meprop/core runs this once.
import * as tf from '@tensorflow/tfjs-core';
import { cpuKernelConfigs, cpuMemory } from './cpu/register';
import { sparseConvKernelConfigs } from './host/sparse_conv_kernels';
import { tensorflowKernelConfigs } from './tensorflow/register';
import { wasmBackwardKernelConfigs } from './wasm/backward_kernels';
import { wasmKernelConfigs, wasmMemory } from './wasm/register';
import { webglKernelConfigs } from './webgl/register';
import { webgpuKernelConfigs } from './webgpu/register';

for (const config of [
  ...cpuKernelConfigs,
  ...wasmKernelConfigs,
  ...tensorflowKernelConfigs,
  ...webglKernelConfigs,
  ...webgpuKernelConfigs,
  ...sparseConvKernelConfigs('cpu', cpuMemory),
  ...sparseConvKernelConfigs('wasm', wasmMemory),
  ...wasmBackwardKernelConfigs,
]) {
  if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
}
