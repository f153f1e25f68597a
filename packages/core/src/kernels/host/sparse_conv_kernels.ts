// Kernel configs of the per-position meProp conv backward for backends with host-readable memory (cpu, wasm).
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropSparseConvGradAttrs, MePropSparseConvGradFilter, MePropSparseConvGradInput } from '../../kernel_names';
import type { HostMemoryAdapter } from './host_kernels';
import { sparseConvGradFilter, sparseConvGradInput } from './sparse_conv_grad';

type Shape4 = [number, number, number, number];

function convInfo(a: MePropSparseConvGradAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    a.inputShape as Shape4,
    a.filterShape as Shape4,
    a.strides as number | [number, number],
    a.dilations as number | [number, number],
    a.pad as 'valid' | 'same' | number | backend_util.ExplicitPadding,
    a.dimRoundingMode === '' ? undefined : (a.dimRoundingMode as 'floor' | 'round' | 'ceil'),
  );
}

export function sparseConvKernelConfigs(backendName: string, mem: HostMemoryAdapter): KernelConfig[] {
  const gradInput: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, filter } = inputs as Record<string, TensorInfo>;
    const a = attrs as unknown as MePropSparseConvGradAttrs;
    const out = mem.alloc(backend, a.inputShape, 'float32');
    const o = mem.view(backend, out) as Float32Array;
    o.fill(0);
    const s = {
      idx: mem.view(backend, indices) as Int32Array,
      val: mem.view(backend, values) as Float32Array,
      k: indices.shape[1],
    };
    sparseConvGradInput(convInfo(a), s, mem.view(backend, filter), o);
    return out;
  };
  const gradFilter: KernelFunc = ({ inputs, backend, attrs }) => {
    const { indices, values, x } = inputs as Record<string, TensorInfo>;
    const a = attrs as unknown as MePropSparseConvGradAttrs;
    const out = mem.alloc(backend, a.filterShape, 'float32');
    const o = mem.view(backend, out) as Float32Array;
    const s = {
      idx: mem.view(backend, indices) as Int32Array,
      val: mem.view(backend, values) as Float32Array,
      k: indices.shape[1],
    };
    sparseConvGradFilter(convInfo(a), s, mem.view(backend, x), o);
    return out;
  };
  return [
    { kernelName: MePropSparseConvGradInput, backendName, kernelFunc: gradInput },
    { kernelName: MePropSparseConvGradFilter, backendName, kernelFunc: gradFilter },
  ];
}
