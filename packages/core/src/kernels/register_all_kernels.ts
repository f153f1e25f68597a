// Registers meProp's kernels for the backends that have them. Importing @meprop/core runs this once.
import * as tf from '@tensorflow/tfjs-core';
import { cpuKernelConfigs } from './cpu/register';
import { tensorflowKernelConfigs } from './tensorflow/register';
import { wasmKernelConfigs } from './wasm/register';
import { webglKernelConfigs } from './webgl/register';
import { webgpuKernelConfigs } from './webgpu/register';

for (const config of [
  ...cpuKernelConfigs,
  ...wasmKernelConfigs,
  ...tensorflowKernelConfigs,
  ...webglKernelConfigs,
  ...webgpuKernelConfigs,
]) {
  if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
}
