// Registers this package's kernels on cpu and wasm (views of the backends' own memory, no copies in or out)
// and the lazy updates' shader programs on webgl and webgpu.
// The backends are typed structurally (no dependency on tfjs-backend-cpu or -wasm).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { batchMatMulDelegate, cpuMemory, MePropMatMul, wasmMemory } from '@meprop/core';
import type { MePropMatMulAttrs } from '@meprop/core';
import type { HostMemoryAdapter } from '@meprop/core';
import { blockedMatMul } from './host/blocked_mat_mul';
import { Float32HostMemory, lazyUpdateKernel } from './host/lazy_update_kernel';
import { gpuLazyUpdateKernelConfigs } from './gpu/register';
import { MePropForwardMatMul } from './kernel_names';

/** tfjs-backend-cpu's block size, which the forward kernel must share to stay bit-identical. */
interface CpuBackendLike {
  blockSize: number;
}

/** core's typed-array access to cpu/wasm tensors, narrowed to the float32 storage these kernels take. */
function float32Memory(mem: HostMemoryAdapter, backendName: string): Float32HostMemory {
  return {
    alloc: (b, shape, dtype) => mem.alloc(b, shape, dtype),
    view: (b, t) => {
      const v = mem.view(b, t);
      if (!(v instanceof Float32Array))
        throw new Error(`@meprop/layers ${backendName} kernel: expected float32 storage, got dtype ${t.dtype}`);
      return v;
    },
  };
}

const cpu = float32Memory(cpuMemory, 'cpu');
const wasm = float32Memory(wasmMemory, 'wasm');

const forwardMatMul: KernelConfig = {
  kernelName: MePropForwardMatMul,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend }) => {
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const [M, K] = a.shape;
    const N = b.shape[1];
    const out = cpu.alloc(backend, [M, N], 'float32');
    blockedMatMul(
      cpu.view(backend, a),
      cpu.view(backend, b),
      M,
      K,
      N,
      (backend as CpuBackendLike).blockSize,
      cpu.view(backend, out),
    );
    return out;
  },
};

/**
 * @meprop/core's MePropMatMul (the product of every meProp layer) on cpu: the blocked loop above for 2-D
 * float32 operands without transposes, tfjs's own BatchMatMul otherwise. It replaces core's default
 * (BatchMatMul for everything), which core registers only on first use.
 */
const mePropMatMulCpu: KernelConfig = {
  kernelName: MePropMatMul,
  backendName: 'cpu',
  kernelFunc: (args) => {
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as MePropMatMulAttrs;
    if (
      transposeA ||
      transposeB ||
      a.shape.length !== 2 ||
      b.shape.length !== 2 ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32'
    ) {
      return batchMatMulDelegate(args, 'cpu');
    }
    return forwardMatMul.kernelFunc({ inputs: { a, b }, backend: args.backend, attrs: {} });
  },
};

for (const config of [
  lazyUpdateKernel('cpu', cpu),
  lazyUpdateKernel('wasm', wasm),
  forwardMatMul,
  ...gpuLazyUpdateKernelConfigs,
]) {
  if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
}
if (tf.getKernel(MePropMatMul, 'cpu') !== undefined) tf.unregisterKernel(MePropMatMul, 'cpu');
tf.registerKernel(mePropMatMulCpu);
