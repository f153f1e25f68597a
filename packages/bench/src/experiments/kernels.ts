// `kernels`: the backward of one linear map y = x @ W alone, for a given dy: plain tfjs (dx = dy W^T,
// dW = x^T dy, as tfjs's BatchMatMul gradient computes them) against meProp's sparse backward
// (@meprop/core mePropMatMulGrads) in per-example and unified modes. No forward pass is involved, so nothing
// has to be subtracted. Repetitions are interleaved (plain, per-example, unified, plain, ...), medians reported.
// Optional rows (`slices`, `forward`): unified with dW kept as its k slices (mePropMatMulSliceGrads, what the
// lazy optimizers receive through a sparse-gradient session), and forward + backward through tfjs's autodiff
// (y = x @ W, loss = sum(y * dy) so that dL/dy = dy; x and W both variables, so dx and dW are both computed).
import * as tf from '@tensorflow/tfjs';
import {
  beginSparseGradients,
  exactMatMulGrads,
  mePropMatMul,
  mePropMatMulGrads,
  mePropMatMulSliceGrads,
  SparseGradientZeros,
} from '@meprop/core';
import type { KernelCase, KernelFigures, KernelMode, KernelPath } from '../results/schema';
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
  /** Also time unified mode with dW kept as slices (backward, and with `forward` forward + backward). */
  slices?: boolean;
  /** Also time forward + backward (plain vs each mode) through tfjs's autodiff. */
  forward?: boolean;
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

interface Timed {
  mode: KernelMode;
  path: KernelPath;
  /** Index of the plain function this one is compared with. */
  plain: number;
  fn: () => Promise<void>;
}

export async function benchKernelShape(
  shape: KernelShape,
  opts: Omit<KernelOptions, 'shapes' | 'progress'>,
): Promise<KernelCase[]> {
  const rng = makeRng(opts.seed);
  const x = randomTensor([shape.batch, shape.inDim], rng);
  const w = randomTensor([shape.inDim, shape.outDim], rng);
  const dy = randomTensor([shape.batch, shape.outDim], rng);
  const xv = tf.variable(x, true, undefined, 'float32');
  const wv = tf.variable(w, true, undefined, 'float32');
  const config = (mode: KernelMode) => ({ k: shape.k, mode, seed: opts.seed });
  const plain = async (): Promise<void> => {
    const g = tf.tidy(() => {
      const t = exactMatMulGrads(dy, x, w, false, false);
      return [t.a(), t.b()];
    });
    await settle(g);
    tf.dispose(g);
  };
  const sparse = (mode: KernelMode) => async (): Promise<void> => {
    const { da, db } = mePropMatMulGrads(dy, x, w, config(mode));
    await settle([da, db]);
    tf.dispose([da, db]);
  };
  const slices = async (): Promise<void> => {
    const { da, db } = mePropMatMulSliceGrads(dy, x, w, config('unified'));
    await settle([da, db.indices, db.rows]);
    tf.dispose([da, db.indices, db.rows]);
  };
  // Forward + backward: loss = sum(y * dy), so the gradient reaching y is dy, as in the backward-only rows.
  const fwdBwd = (matMul: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => async (): Promise<void> => {
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(matMul(xv, wv), dy)), [xv, wv]);
    const g = [grads[xv.name], grads[wv.name]];
    await settle(g);
    tf.dispose([...g, value]);
  };
  // Kept across steps, as a lazy optimizer keeps it: the zero gradient the engine gets in place of dense dW.
  const zeros = new SparseGradientZeros();
  const fwdBwdSlices = async (): Promise<void> => {
    const session = beginSparseGradients([wv], zeros);
    try {
      const { grads, value } = tf.variableGrads(
        session.wrap(() => tf.sum(tf.mul(mePropMatMul(xv, wv, config('unified')), dy))),
        [xv, wv],
      );
      const r = session.resolve(wv, grads[wv.name]);
      const out = r.kind === 'sparse' ? [r.slices.indices, r.slices.rows] : [r.grad];
      await settle([grads[xv.name], ...out]);
      if (r.kind === 'dense' && r.owned) r.grad.dispose();
      tf.dispose([grads[xv.name], grads[wv.name], value]);
    } finally {
      session.end();
    }
  };
  const timed: Timed[] = opts.modes.map((mode) => ({ mode, path: 'backward', plain: 0, fn: sparse(mode) }));
  const plains = [plain];
  const withSlices = opts.slices === true && shape.k < shape.outDim;
  if (withSlices) timed.push({ mode: 'unified', path: 'backward, dW slices', plain: 0, fn: slices });
  if (opts.forward === true) {
    plains.push(fwdBwd((a, b) => tf.matMul(a, b)));
    for (const mode of opts.modes) {
      timed.push({ mode, path: 'forward+backward', plain: 1, fn: fwdBwd((a, b) => mePropMatMul(a, b, config(mode))) });
    }
    if (withSlices) timed.push({ mode: 'unified', path: 'forward+backward, dW slices', plain: 1, fn: fwdBwdSlices });
  }
  try {
    const samples = await timeInterleaved([...plains, ...timed.map((t) => t.fn)], { warmup: opts.warmup, reps: opts.reps });
    return timed.map((t, i) => {
      const plainMs = median(samples[t.plain]);
      const mePropMs = median(samples[plains.length + i]);
      return {
        label: shapeLabel(shape),
        group: shape.group,
        batch: shape.batch,
        inDim: shape.inDim,
        outDim: shape.outDim,
        k: shape.k,
        mode: t.mode,
        path: t.path,
        plainMs,
        mePropMs,
        speedup: ratio(plainMs, mePropMs),
        idealSpeedup: shape.outDim / shape.k,
        reps: opts.reps,
      };
    });
  } finally {
    zeros.dispose();
    tf.dispose([x, w, dy, xv, wv]);
  }
}

export const KERNEL_METHOD =
  'backward only, for a fixed dy: plain = exactMatMulGrads (dx = dy W^T, dW = x^T dy, as tfjs) vs @meprop/core mePropMatMulGrads ' +
  '(dense dW; "dW slices": mePropMatMulSliceGrads, the k kept columns of dW and their indices, as sparseAdam receives them); ' +
  '"forward+backward": y = x @ W and both gradients through tfjs autodiff (loss sum(y * dy)); ' +
  'done = every output exists (on tensorflow, one entry of each read back: tfjs-node runs ops synchronously); interleaved repetitions, medians';

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
