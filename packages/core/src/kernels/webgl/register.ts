// meProp kernels for tfjs's `webgl` backend: the GLSL programs of programs.ts run with the backend's own
// runWebGLProgram (typed structurally: no dependency on tfjs-backend-webgl).
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { gpuKernelConfigs, GpuRunner } from '../gpu/gpu_kernels';
import { webglPrograms } from './programs';

interface WebGLBackendLike {
  runWebGLProgram(program: object, inputs: TensorInfo[], dtype: DataType): TensorInfo;
  makeTensorInfo(shape: number[], dtype: DataType, values?: Int32Array | Float32Array): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
  texData: { get(dataId: object): { isPacked?: boolean } | undefined };
  unpackTensor(t: TensorInfo): TensorInfo;
}

const webglRunner: GpuRunner = {
  run: (backend, program, inputs, dtype) => (backend as WebGLBackendLike).runWebGLProgram(program, inputs, dtype),
  upload: (backend, shape, dtype, values) => (backend as WebGLBackendLike).makeTensorInfo(shape, dtype, values),
  dispose: (backend, t) => (backend as WebGLBackendLike).disposeIntermediateTensorInfo(t),
  readable: (backend, t) => {
    const b = backend as WebGLBackendLike;
    return b.texData.get(t.dataId)?.isPacked === true ? b.unpackTensor(t) : t;
  },
};

export const webglKernelConfigs = gpuKernelConfigs('webgl', webglPrograms, webglRunner);
