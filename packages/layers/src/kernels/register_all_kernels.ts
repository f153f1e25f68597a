// Registers this package's kernels on cpu and wasm: views of the backends' own memory, no copies in or out.
// The backends are typed structurally (no dependency on tfjs-backend-cpu or -wasm).
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { blockedMatMul } from './host/blocked_mat_mul';
import { HostMemoryAdapter, lazyUpdateKernel } from './host/lazy_update_kernel';
import { MePropForwardMatMul } from './kernel_names';

interface CpuBackendLike {
  blockSize: number;
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array): TensorInfo;
}
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): unknown;
}

function float32(v: unknown, backend: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new Error(`@meprop/layers ${backend} kernel: expected float32 storage`);
  return v;
}

const cpu: HostMemoryAdapter = {
  alloc: (b, shape, dtype) => (b as CpuBackendLike).makeTensorInfo(shape, dtype, new Float32Array(shape.reduce((x, y) => x * y, 1))),
  view: (b, t) => float32((b as CpuBackendLike).data.get(t.dataId).values, 'cpu'),
};
const wasm: HostMemoryAdapter = {
  alloc: (b, shape, dtype) => (b as WasmBackendLike).makeOutput(shape, dtype),
  view: (b, t) => float32((b as WasmBackendLike).typedArrayFromHeap(t), 'wasm'),
};

const forwardMatMul: KernelConfig = {
  kernelName: MePropForwardMatMul,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend }) => {
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const [M, K] = a.shape;
    const N = b.shape[1];
    const out = cpu.alloc(backend, [M, N], 'float32');
    blockedMatMul(cpu.view(backend, a), cpu.view(backend, b), M, K, N, (backend as CpuBackendLike).blockSize, cpu.view(backend, out));
    return out;
  },
};

for (const config of [lazyUpdateKernel('cpu', cpu), lazyUpdateKernel('wasm', wasm), forwardMatMul]) {
  if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
}
