// The lazy optimizers' kernels on GPU backends (webgl, webgpu): MePropLazyUpdate (dense gradient) and
// MePropSparseLazyUpdate (the k slices of a sparse-gradient session). Dense: a pass marks the touched
// columns, then one pass per output. Sparse: a pass maps indices to slices, one small pass per output
// computes its new slice values, one full-size pass per output selects old or new. Nothing is read back;
// untouched entries are copied unchanged (the same numbers as the cpu kernels, which skip them).
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernel_names';
import { MePropSparseLazyUpdate, MePropSparseLazyUpdateAttrs } from '../../optimizers/sparse_update_kernel';
import { GpuProgram, LazyOutput, LazyUpdatePrograms, UNIFORM_NAMES } from './lazy_update_programs';

/** How a backend runs a program with its uniform values and frees intermediates. */
export interface LazyGpuRunner {
  run(backend: unknown, program: GpuProgram, inputs: TensorInfo[], dtype: DataType, uniforms?: number[]): TensorInfo;
  dispose(backend: unknown, t: TensorInfo): void;
}

function uniformValues(a: MePropLazyUpdateAttrs): number[] {
  const v = {
    lr: a.learningRate,
    b1: a.beta1,
    b2: a.beta2,
    a1: 1 - a.beta1,
    a2: 1 - a.beta2,
    eps: a.epsilon,
    c1: a.correction1,
    c2: a.correction2,
  };
  return UNIFORM_NAMES.map((n) => v[n]);
}

const OUTPUTS: LazyOutput[] = ['value', 'slot0', 'slot1'];

export function lazyUpdateGpuKernels(backendName: string, programs: LazyUpdatePrograms, gpu: LazyGpuRunner): KernelConfig[] {
  /** The backend's own Reshape kernel: a 2-D view of t (free where the layout allows, else one pass). */
  const reshape = (backend: unknown, t: TensorInfo, shape: number[]): TensorInfo => {
    const kernel = tf.getKernel('Reshape', backendName);
    if (kernel === undefined) throw new Error(`@meprop/layers: no Reshape kernel on ${backendName}`);
    return kernel.kernelFunc({ inputs: { x: t }, backend: backend as tf.KernelBackend, attrs: { shape } }) as TensorInfo;
  };

  const dense: KernelFunc = ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as MePropLazyUpdateAttrs;
    const value = inputs.value as TensorInfo;
    const shape = [a.rows, a.cols];
    const temps: TensorInfo[] = [];
    // Every program works on [rows, cols] (a bias is [1, size]).
    const as2D = (t: TensorInfo) => {
      if (t.shape.length === 2) return t;
      const v = reshape(backend, t, shape);
      temps.push(v);
      return v;
    };
    const slots = [inputs.slot0, inputs.slot1].filter((s): s is TensorInfo => s !== undefined).map(as2D);
    const g = as2D(inputs.grad as TensorInfo);
    const slotMap = a.lazy ? gpu.run(backend, programs.touchedColumns(a.rows, a.cols), [g], 'int32') : null;
    if (slotMap !== null) temps.push(slotMap);
    const uniforms = uniformValues(a);
    const outs = [as2D(value), ...slots].map((old, o) => {
      const program = programs.update({ rule: a.rule, output: OUTPUTS[o], R: a.rows, C: a.cols, lazy: a.lazy });
      const inputs = [old, ...(slotMap === null ? [] : [slotMap]), g, ...(o === 0 ? slots : [])];
      return gpu.run(backend, program, inputs, 'float32', uniforms);
    });
    const result =
      value.shape.length === 2
        ? outs
        : outs.map((t) => {
            temps.push(t);
            return reshape(backend, t, value.shape);
          });
    temps.forEach((t) => gpu.dispose(backend, t));
    return result;
  };

  const sparse: KernelFunc = ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as MePropSparseLazyUpdateAttrs;
    const { value, indices, rows } = inputs as Record<string, TensorInfo>;
    const slots = [inputs.slot0, inputs.slot1].filter((s): s is TensorInfo => s !== undefined);
    const [n, L] = rows.shape;
    const D = a.axis === 1 ? a.cols : a.rows;
    const idx = reshape(backend, indices, [1, n]);
    const temps: TensorInfo[] = [idx];
    let g = rows;
    if (!a.unique) {
      g = gpu.run(backend, programs.mergeDuplicates(n, L), [idx, rows], 'float32');
      temps.push(g);
    }
    const slotMap = gpu.run(backend, programs.sliceSlots(D, n, L, a.lazy), [idx, g], 'int32');
    temps.push(slotMap);
    // The new values at the slices first (each reads the old weight and slots), then the full-size selects.
    const uniforms = uniformValues(a);
    const slotsTransposed = a.axis === 1;
    const fresh = [value, ...slots].map((old, o) => {
      const pass = { rule: a.rule, output: OUTPUTS[o], R: a.rows, C: a.cols, axis: a.axis, n, slotsTransposed };
      return gpu.run(backend, programs.sliceUpdate(pass), [idx, g, old, ...(o === 0 ? slots : [])], 'float32', uniforms);
    });
    temps.push(...fresh);
    const outs = [value, ...slots].map((old, o) => {
      const transposed = o > 0 && slotsTransposed;
      const [P, Q] = transposed ? [a.cols, a.rows] : [a.rows, a.cols];
      // The sliced index runs along the weight's columns for axis 1, i.e. along a transposed slot's rows.
      const dAlongColumns = (a.axis === 1) !== transposed;
      return gpu.run(backend, programs.scatterSlices(P, Q, dAlongColumns, n), [old, slotMap, fresh[o]], 'float32');
    });
    temps.forEach((t) => gpu.dispose(backend, t));
    return outs;
  };

  return [
    { kernelName: MePropLazyUpdate, backendName, kernelFunc: dense },
    { kernelName: MePropSparseLazyUpdate, backendName, kernelFunc: sparse },
  ];
}
