// The linear map the MLP profiling scripts time (issue 11's shapes), and its backward as `meprop-bench kernels`
// times it: plain (tfjs's two matmul gradients) and meProp's mePropMatMulGrads, each settled by a one-entry
// read and disposed.
import * as tf from '@tensorflow/tfjs';
import { exactMatMulGrads, mePropMatMulGrads } from '@meprop/core';
import type { MePropMode } from '@meprop/core';
import { settle } from '../src/util/timing';

/** x [M, K] @ W [K, N], k kept columns. */
export interface MlpShape {
  M: number;
  K: number;
  N: number;
  k: number;
}

/** Issue 11's two shapes: 32×500 @ 500×500 with k = 20, 128×1024 @ 1024×1024 with k = 32. */
export const MLP_SHAPES: MlpShape[] = [
  { M: 32, K: 500, N: 500, k: 20 },
  { M: 128, K: 1024, N: 1024, k: 32 },
];

/** Seeded values, roughly normal: the sum of three uniforms, centred. */
export function rand(shape: [number, number], rng: () => number): tf.Tensor2D {
  const v = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < v.length; i++) v[i] = rng() + rng() + rng() - 1.5;
  return tf.tensor2d(v, shape);
}

/** The backward of x @ W for dy, plain and meProp, as the bench times them. */
export function benchBackward(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  k: number,
): { plain: () => Promise<void>; meProp: (mode: Exclude<MePropMode, 'per-sample'>) => () => Promise<void> } {
  return {
    plain: async () => {
      const g = tf.tidy(() => {
        const t = exactMatMulGrads(dy, x, w, false, false);
        return [t.a(), t.b()];
      });
      await settle(g);
      tf.dispose(g);
    },
    meProp: (mode) => async () => {
      const { da, db } = mePropMatMulGrads(dy, x, w, { k, mode, seed: 1 });
      await settle([da, db]);
      tf.dispose([da, db]);
    },
  };
}
