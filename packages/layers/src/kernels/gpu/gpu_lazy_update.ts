// The lazy optimizers' kernels on GPU backends (webgl, webgpu): MePropLazyUpdate (dense gradient) and
// MePropSparseLazyUpdate (the k slices of a sparse-gradient session). A step is one or two small passes that
// mark what is touched, then one pass per output; nothing is read back, and untouched entries are copied
// unchanged (the same numbers as the cpu kernels, which skip them).
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernel_names';
import { MePropSparseLazyUpdate, MePropSparseLazyUpdateAttrs } from '../../optimizers/sparse_update_kernel';
import { GpuProgram, GradientSource, LazyOutput, LazyUpdatePrograms, UNIFORM_NAMES, UpdatePass } from './lazy_update_programs';

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

  /** One pass per output ([value, ...slots]) given the slot map (or null) and G. */
  const updateAll = (
    backend: unknown,
    a: MePropLazyUpdateAttrs,
    value: TensorInfo,
    slots: TensorInfo[],
    slotMap: TensorInfo | null,
    g: TensorInfo,
    source: GradientSource,
    slotsTransposed: boolean,
  ): TensorInfo[] => {
    const uniforms = uniformValues(a);
    return [value, ...slots].map((old, o) => {
      const pass: UpdatePass = { rule: a.rule, output: OUTPUTS[o], R: a.rows, C: a.cols, source, slotsTransposed };
      const inputs = [old, ...(slotMap === null ? [] : [slotMap]), g];
      if (pass.output === 'value') inputs.push(...slots);
      return gpu.run(backend, programs.update(pass), inputs, 'float32', uniforms);
    });
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
    const outs = updateAll(backend, a, as2D(value), slots, slotMap, g, { kind: 'dense', lazy: a.lazy }, false);
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
    const outs = updateAll(backend, a, value, slots, slotMap, g, { kind: 'slices', axis: a.axis }, a.axis === 1);
    temps.forEach((t) => gpu.dispose(backend, t));
    return outs;
  };

  return [
    { kernelName: MePropLazyUpdate, backendName, kernelFunc: dense },
    { kernelName: MePropSparseLazyUpdate, backendName, kernelFunc: sparse },
  ];
}
