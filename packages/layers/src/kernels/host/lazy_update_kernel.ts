// The MePropLazyUpdate kernel for backends whose tensor memory JavaScript can view directly (cpu, wasm).
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernel_names';
import { adagradColumns, adamColumns, adamDense, sgdColumns, touchedColumns } from './lazy_updates';

/** @meprop/core's HostMemoryAdapter for float32 tensors. Allocate every output before any view: a wasm
 *  allocation may move the heap. */
export interface Float32HostMemory {
  alloc(backend: unknown, shape: number[], dtype: DataType): TensorInfo;
  view(backend: unknown, t: TensorInfo): Float32Array;
}

export function lazyUpdateKernel(backendName: string, mem: Float32HostMemory): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as MePropLazyUpdateAttrs;
    const value = inputs.value as TensorInfo;
    const slotsIn = [inputs.slot0, inputs.slot1].filter((s): s is TensorInfo => s !== undefined);
    const outs = [value, ...slotsIn].map(() => mem.alloc(backend, value.shape, 'float32'));
    const [w, ...slots] = outs.map((o) => mem.view(backend, o));
    // Outputs start as copies; only the touched entries change below.
    w.set(mem.view(backend, value));
    slotsIn.forEach((s, i) => slots[i].set(mem.view(backend, s)));
    const g = mem.view(backend, inputs.grad as TensorInfo);
    const cols = a.lazy ? touchedColumns(g, a.rows, a.cols) : null;
    if (a.rule === 'adam') {
      if (cols === null) adamDense(w, slots[0], slots[1], g, a);
      else adamColumns(w, slots[0], slots[1], g, a.rows, a.cols, cols, a);
    } else if (a.rule === 'adagrad') {
      adagradColumns(w, slots[0], g, a.rows, a.cols, cols, a.learningRate, a.epsilon);
    } else {
      sgdColumns(w, g, a.rows, a.cols, cols, a.learningRate);
    }
    return outs;
  };
  return { kernelName: MePropLazyUpdate, backendName, kernelFunc };
}
