// The lazy-update kernels' configs for tfjs's webgl and webgpu backends: the programs run with each
// backend's own runner (typed structurally: no dependency on tfjs-backend-webgl or -webgpu).
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { LazyGpuRunner, lazyUpdateGpuKernels } from './gpu_lazy_update';
import { webglLazyUpdatePrograms } from './webgl_lazy_update';
import { webgpuLazyUpdatePrograms } from './webgpu_lazy_update';

interface WebGLBackendLike {
  runWebGLProgram(program: object, inputs: TensorInfo[], dtype: DataType, customUniformValues?: number[][]): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

interface WebGPUBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: TensorInfo[],
    dtype: DataType,
    programDefinedUniform?: Array<{ type: string; data: number[] }>,
  ): TensorInfo;
  disposeData(dataId: object): boolean;
}

const webglRunner: LazyGpuRunner = {
  run: (backend, program, inputs, dtype, uniforms) =>
    (backend as WebGLBackendLike).runWebGLProgram(
      program,
      inputs,
      dtype,
      uniforms?.map((u) => [u]),
    ),
  dispose: (backend, t) => (backend as WebGLBackendLike).disposeIntermediateTensorInfo(t),
};

const webgpuRunner: LazyGpuRunner = {
  run: (backend, program, inputs, dtype, uniforms) =>
    (backend as WebGPUBackendLike).runWebGPUProgram(
      program,
      inputs,
      dtype,
      uniforms?.map((u) => ({ type: 'float32', data: [u] })),
    ),
  dispose: (backend, t) => {
    (backend as WebGPUBackendLike).disposeData(t.dataId);
  },
};

export const gpuLazyUpdateKernelConfigs: KernelConfig[] = [
  ...lazyUpdateGpuKernels('webgl', webglLazyUpdatePrograms, webglRunner),
  ...lazyUpdateGpuKernels('webgpu', webgpuLazyUpdatePrograms, webgpuRunner),
];
