// `kernels`: the backward of one linear map y = x @ W alone, for a given dy: plain tfjs (dx = dy W^T,
// dW = x^T dy, as tfjs's BatchMatMul gradient computes them) against meProp's sparse backward
// (@meprop/core mePropMatMulGrads) in per-example and unified modes. No forward pass is involved, so nothing
// has to be subtracted. Repetitions are interleaved (plain, per-example, unified, plain, ...), medians reported.
import * as tf from '@tensorflow/tfjs';
import { exactMatMulGrads, mePropMatMulGrads } from '@meprop/core';
import type { KernelCase, KernelFigures, KernelMode } from '../results/schema';
import type { Progress } from '../util/progress';
import { makeRng } from '../util/rng';
import { median, ratio } from '../util/stats';
import { settle, timeInterleaved } from '../util/timing';

export interface KernelShape {
  group: string;
  batch: number;
  inDim: number;
  outDim: number;
  k: number;
}

export function shapeLabel(s: Pick<KernelShape, 'batch' | 'inDim' | 'outDim' | 'k'>): string {
  return `${s.batch}x${s.inDim}x${s.outDim}.k${s.k}`;
}

/**
 * The grid: the MNIST MLP's layers (batch 10 as in the paper and 32), and scaled-down versions of the large
 * square layers with small k of the paper's GPU Table 7 (there: large batches and hidden sizes in the
 * thousands on a GPU; here batch 32 and h 1000-2000, so a cpu run stays in seconds).
 */
export const DEFAULT_KERNEL_SHAPES: KernelShape[] = [
  { group: 'mnist-mlp', batch: 10, inDim: 784, outDim: 500, k: 20 },
  { group: 'mnist-mlp', batch: 10, inDim: 500, outDim: 500, k: 20 },
  { group: 'mnist-mlp', batch: 32, inDim: 784, outDim: 500, k: 20 },
  { group: 'mnist-mlp', batch: 32, inDim: 500, outDim: 500, k: 20 },
  { group: 'mnist-mlp', batch: 32, inDim: 500, outDim: 500, k: 80 },
  { group: 'table7-scaled', batch: 32, inDim: 1000, outDim: 1000, k: 10 },
  { group: 'table7-scaled', batch: 32, inDim: 1000, outDim: 1000, k: 50 },
  { group: 'table7-scaled', batch: 32, inDim: 2000, outDim: 2000, k: 20 },
  { group: 'table7-scaled', batch: 32, inDim: 2000, outDim: 2000, k: 100 },
];

export const QUICK_KERNEL_SHAPES: KernelShape[] = [
  { group: 'mnist-mlp', batch: 32, inDim: 500, outDim: 500, k: 20 },
  { group: 'table7-scaled', batch: 32, inDim: 1000, outDim: 1000, k: 50 },
];

export interface KernelOptions {
  shapes: KernelShape[];
  modes: KernelMode[];
  warmup: number;
  reps: number;
  seed: number;
  progress: Progress;
}

function randomTensor(shape: [number, number], rng: () => number): tf.Tensor2D {
  const v = new Float32Array(shape[0] * shape[1]);
  // Sum of uniforms: roughly normal, and every |value| distinct with probability one (top-k has no ties).
  for (let i = 0; i < v.length; i++) v[i] = rng() + rng() + rng() - 1.5;
  return tf.tensor2d(v, shape);
}

export async function benchKernelShape(
  shape: KernelShape,
  opts: Omit<KernelOptions, 'shapes' | 'progress'>,
): Promise<KernelCase[]> {
  const rng = makeRng(opts.seed);
  const x = randomTensor([shape.batch, shape.inDim], rng);
  const w = randomTensor([shape.inDim, shape.outDim], rng);
  const dy = randomTensor([shape.batch, shape.outDim], rng);
  const plain = async (): Promise<void> => {
    const g = tf.tidy(() => {
      const t = exactMatMulGrads(dy, x, w, false, false);
      return [t.a(), t.b()];
    });
    await settle(g);
    tf.dispose(g);
  };
  const sparse = (mode: KernelMode) => async (): Promise<void> => {
    const { da, db } = mePropMatMulGrads(dy, x, w, { k: shape.k, mode, seed: opts.seed });
    await settle([da, db]);
    tf.dispose([da, db]);
  };
  try {
    const samples = await timeInterleaved([plain, ...opts.modes.map(sparse)], { warmup: opts.warmup, reps: opts.reps });
    const plainMs = median(samples[0]);
    return opts.modes.map((mode, i) => {
      const mePropMs = median(samples[i + 1]);
      return {
        label: shapeLabel(shape),
        group: shape.group,
        batch: shape.batch,
        inDim: shape.inDim,
        outDim: shape.outDim,
        k: shape.k,
        mode,
        plainMs,
        mePropMs,
        speedup: ratio(plainMs, mePropMs),
        idealSpeedup: shape.outDim / shape.k,
        reps: opts.reps,
      };
    });
  } finally {
    tf.dispose([x, w, dy]);
  }
}

export const KERNEL_METHOD =
  'backward only, for a fixed dy: plain = exactMatMulGrads (dx = dy W^T, dW = x^T dy, as tfjs) vs @meprop/core mePropMatMulGrads; interleaved repetitions, medians';

export async function runKernelBench(opts: KernelOptions): Promise<KernelFigures> {
  const cases: KernelCase[] = [];
  const task = opts.progress.task('kernels');
  for (let i = 0; i < opts.shapes.length; i++) {
    const shape = opts.shapes[i];
    task.update(i / opts.shapes.length, shapeLabel(shape));
    cases.push(...(await benchKernelShape(shape, opts)));
  }
  task.done();
  return { method: KERNEL_METHOD, cases };
}
