// The kept entries of a 2-D dy, and how they are chosen on the current backend.
import * as tf from '@tensorflow/tfjs-core';
import { compositeSelect } from './kernels/fallback';
import { selectKept } from './kernels/host/top_k';
import { MePropSelect, MePropSelectAttrs } from './kernel_names';
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

/** Backends whose tensors live in host memory but have no meProp kernels: select there after one read. */
const HOST_SELECT_BACKENDS = new Set(['tensorflow']);

/**
 * True when the active backend has meProp's own kernels (cpu, wasm, webgl on WebGL 2, webgpu). The GLSL
 * programs need WebGL 2 (uint arithmetic); on WebGL 1 meProp takes the composite tfjs-op path instead.
 */
export function hasMePropKernels(): boolean {
  const backend = tf.getBackend();
  if (backend === 'webgl' && tf.env().getNumber('WEBGL_VERSION') < 2) return false;
  return tf.getKernel(MePropSelect, backend) !== undefined;
}

export function selectEntries(dy: tf.Tensor2D, k: number, mode: MePropMode, seed: number): Selection {
  const [M, N] = dy.shape;
  if (hasMePropKernels()) {
    const attrs: MePropSelectAttrs = { k, mode, seed };
    const [indices, values] = tf.engine().runKernel(MePropSelect, { dy }, attrs) as tf.Tensor[];
    return { indices: indices as tf.Tensor2D, values: values as tf.Tensor2D, shared: null, M, N, k };
  }
  const idx = new Int32Array(M * k);
  const val = new Float32Array(M * k);
  if (HOST_SELECT_BACKENDS.has(tf.getBackend())) {
    // On CPU-resident native backends each tfjs op has a fixed overhead that outweighs a 2-D top-k, so dy
    // is read once and the selection runs on the host.
    selectKept(dy.dataSync() as Float32Array, M, N, k, mode, seed, idx, val);
    const shared = mode === 'unified' ? tf.tensor1d(idx.slice(0, k), 'int32') : null;
    return { indices: tf.tensor2d(idx, [M, k], 'int32'), values: tf.tensor2d(val, [M, k]), shared, M, N, k };
  }
  if (mode === 'random') {
    // Only the indices come from the host generator; dy stays on the device.
    selectKept(new Float32Array(M * N), M, N, k, 'random', seed, idx, val);
    return compositeSelect(dy, k, 'per-example', idx);
  }
  return compositeSelect(dy, k, mode);
}
