// The kept entries of a 2-D dy, and how they are chosen on the current backend.
import * as tf from '@tensorflow/tfjs-core';
import { compositeSelect } from './kernels/fallback';
import { selectKept } from './kernels/host/top_k';
import { MePropSelect, MePropSelectAttrs, MePropSelectColumns, MePropSelectColumnsAttrs } from './kernel_names';
import type { MePropMode } from './config';

export interface Selection {
  /** [M, k] int32 column indices of the kept entries, ascending within each row. */
  indices: tf.Tensor2D;
  /** [M, k] the kept values of dy. */
  values: tf.Tensor2D;
  /** In unified mode (composite path): the k shared columns; null otherwise. */
  shared: tf.Tensor1D | null;
  M: number;
  N: number;
  k: number;
}

/**
 * True when the active backend has meProp's own kernels (cpu, wasm, tensorflow, webgl on WebGL 2, webgpu). The
 * GLSL programs need WebGL 2 (uint arithmetic); on WebGL 1 meProp takes the composite tfjs-op path instead.
 */
export function hasMePropKernels(): boolean {
  const backend = tf.getBackend();
  if (backend === 'webgl' && tf.env().getNumber('WEBGL_VERSION') < 2) return false;
  return tf.getKernel(MePropSelect, backend) !== undefined;
}

/** True when the active backend selects unified columns in a kernel of its own (tensorflow): no host read. */
export function hasColumnSelectKernel(): boolean {
  return tf.getKernel(MePropSelectColumns, tf.getBackend()) !== undefined;
}

/** Unified selection by the backend's kernel: the k shared columns [k] and dy's values there [M, k]. */
export function selectColumns(dy: tf.Tensor2D, k: number): { shared: tf.Tensor1D; values: tf.Tensor2D } {
  const attrs: MePropSelectColumnsAttrs = { k };
  const [shared, values] = tf.engine().runKernel(MePropSelectColumns, { dy }, attrs) as tf.Tensor[];
  return { shared: shared as tf.Tensor1D, values: values as tf.Tensor2D };
}

export function selectEntries(dy: tf.Tensor2D, k: number, mode: Exclude<MePropMode, 'per-sample'>, seed: number): Selection {
  const [M, N] = dy.shape;
  if (hasMePropKernels()) {
    const attrs: MePropSelectAttrs = { k, mode, seed };
    const [indices, values] = tf.engine().runKernel(MePropSelect, { dy }, attrs) as tf.Tensor[];
    return { indices: indices as tf.Tensor2D, values: values as tf.Tensor2D, shared: null, M, N, k };
  }
  if (mode === 'random') {
    const idx = new Int32Array(M * k);
    const val = new Float32Array(M * k);
    // Only the indices come from the host generator; dy stays on the device.
    selectKept(new Float32Array(M * N), M, N, k, 'random', seed, idx, val);
    return compositeSelect(dy, k, 'per-example', idx);
  }
  return compositeSelect(dy, k, mode);
}
