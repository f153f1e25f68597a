// meProp kernels for tfjs's `wasm` backend. The wasm module has no sparse kernel we could call, and the
// composite route needs gather-with-batchDims (crashes there) or UnsortedSegmentSum (missing there), so the
// loops run in JavaScript directly on views of the wasm heap: no copies in or out.
import { hostKernelConfigs, HostMemoryAdapter } from '../host/host_kernels';
import type { WasmBackendLike } from '../../tfjs_internals';

/** Views of tfjs-backend-wasm tensors on the wasm heap, for kernel authors (used by @meprop/layers). */
export const wasmMemory: HostMemoryAdapter = {
  alloc(backend, shape, dtype) {
    return (backend as WasmBackendLike).makeOutput(shape, dtype);
  },
  view(backend, t) {
    const v = (backend as WasmBackendLike).typedArrayFromHeap(t);
    if (!(v instanceof Float32Array) && !(v instanceof Int32Array)) {
      throw new Error(`meProp wasm kernel: tensor of dtype ${t.dtype} has no numeric storage`);
    }
    return v;
  },
};

export const wasmKernelConfigs = hostKernelConfigs('wasm', wasmMemory);
