// The conv layer the profiling scripts time (issue 13's by default: batch 32, 28×28, 32 → 64 channels, 3×3
// valid, k = 8), from their command line: [reps] [BxHxWxCIxCO] [k]. x, the filter and dy are seeded.
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../src/util/rng';

export interface ConvProblem {
  reps: number;
  B: number;
  H: number;
  W: number;
  CI: number;
  CO: number;
  OH: number;
  OW: number;
  k: number;
  x: tf.Tensor;
  w: tf.Tensor;
  dy: tf.Tensor;
  /** The attributes of meProp's conv kernels for this layer. */
  attrs: {
    inputShape: number[];
    filterShape: number[];
    strides: number;
    dilations: number;
    pad: string;
    dimRoundingMode: string;
  };
}

function rand(shape: number[], std: number, rng: () => number): tf.Tensor {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = (rng() + rng() + rng() - 1.5) * std;
  return tf.tensor(v, shape);
}

export function convProblem(argv: string[]): ConvProblem {
  const reps = Number(argv[2] ?? 30);
  const [B, H, W, CI, CO] = (argv[3] ?? '32x28x28x32x64').split('x').map(Number);
  const k = Number(argv[4] ?? 8);
  const rng = makeRng(1);
  const x = rand([B, H, W, CI], 1, rng);
  const w = rand([3, 3, CI, CO], 0.05, rng);
  const [OH, OW] = [H - 2, W - 2];
  const dy = rand([B, OH, OW, CO], 1, rng);
  const attrs = { inputShape: x.shape, filterShape: w.shape, strides: 1, dilations: 1, pad: 'valid', dimRoundingMode: '' };
  return { reps, B, H, W, CI, CO, OH, OW, k, x, w, dy, attrs };
}
