// meProp kernels for tfjs's `cpu` backend: plain loops over the backend's own typed arrays.
import { hostKernelConfigs, HostMemoryAdapter, shapeSize } from '../host/host_kernels';
import type { CpuBackendLike } from '../../tfjs_internals';

/** Typed-array access to tfjs-backend-cpu tensors, for kernel authors (used by @meprop/layers). */
export const cpuMemory: HostMemoryAdapter = {
  alloc(backend, shape, dtype) {
    const values = dtype === 'int32' ? new Int32Array(shapeSize(shape)) : new Float32Array(shapeSize(shape));
    return (backend as CpuBackendLike).makeTensorInfo(shape, dtype, values);
  },
  view(backend, t) {
    const values = (backend as CpuBackendLike).data.get(t.dataId).values;
    if (
      t.dtype === 'float32' &&
      !(values instanceof Float32Array) &&
      (values instanceof Uint8Array || values instanceof Int32Array)
    ) {
      // tfjs-backend-cpu's Cast from bool or int32 to float32 shares the source array (e.g. a multi-hot input
      // made with tf.cast(tf.less(...), 'float32')): read a float32 copy. Only inputs get here: outputs are
      // allocated as Float32Array.
      return Float32Array.from(values);
    }
    if (!(values instanceof Float32Array) && !(values instanceof Int32Array)) {
      throw new Error(`meProp cpu kernel: tensor of dtype ${t.dtype} has no numeric storage`);
    }
    return values;
  },
};

export const cpuKernelConfigs = hostKernelConfigs('cpu', cpuMemory);
