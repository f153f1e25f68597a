// meProp kernels for tfjs's `webgpu` backend: the WGSL programs of programs.ts run with the backend's own
// runWebGPUProgram (typed structurally: no dependency on tfjs-backend-webgpu).
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { gpuKernelConfigs, GpuRunner } from '../gpu/gpu_kernels';
import { webgpuPrograms } from './programs';

interface WebGPUBackendLike {
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: DataType): TensorInfo;
  makeTensorInfo(shape: number[], dtype: DataType, values?: Int32Array | Float32Array): TensorInfo;
  disposeData(dataId: object): boolean;
}

const webgpuRunner: GpuRunner = {
  run: (backend, program, inputs, dtype) => (backend as WebGPUBackendLike).runWebGPUProgram(program, inputs, dtype),
  upload: (backend, shape, dtype, values) => (backend as WebGPUBackendLike).makeTensorInfo(shape, dtype, values),
  dispose: (backend, t) => {
    (backend as WebGPUBackendLike).disposeData(t.dataId);
  },
  readable: (_backend, t) => t,
};

export const webgpuKernelConfigs = gpuKernelConfigs('webgpu', webgpuPrograms, webgpuRunner);
