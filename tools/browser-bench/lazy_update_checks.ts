// Checks of the lazy optimizers' sparse update kernel (MePropSparseLazyUpdate, fed by @meprop/core's
// sparse-gradient sessions) on a GPU backend, against the cpu kernels' loops (packages/layers' host
// lazy_updates) run in the page on the same slices: three steps per case, every rule, both axes, unique and
// duplicate indices, an all-zero slice (must be skipped), odd and even shapes (packed textures' edges).
import * as tf from '@tensorflow/tfjs';
import { adagradColumns, adamColumns, sgdColumns } from '../../packages/layers/src/kernels/host/lazy_updates';
import type { LazyRule, LazyStepParams } from '../../packages/layers/src/kernels/kernel_names';
import {
  MePropSparseLazyUpdate,
  type MePropSparseLazyUpdateAttrs,
} from '../../packages/layers/src/optimizers/sparse_update_kernel';
import { makeRng } from '../../packages/bench/src/util/rng';

interface SparseCase {
  rule: LazyRule;
  R: number;
  C: number;
  axis: 0 | 1;
  /** Indices along the axis; a repeated index has its slices summed. */
  indices: number[];
  /** Position in `indices` whose slice is all zero every step (-1: none). */
  zeroSlice: number;
}

function values(n: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: n }, () => rng() + rng() + rng() - 1.5);
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

function stepParams(rule: LazyRule, t: number): LazyStepParams {
  const [beta1, beta2] = rule === 'adam' ? [0.9, 0.999] : [0, 0];
  return {
    learningRate: rule === 'adam' ? 0.01 : 0.1,
    beta1,
    beta2,
    epsilon: 1e-7,
    correction1: rule === 'adam' ? 1 - Math.pow(beta1, t) : 1,
    correction2: rule === 'adam' ? 1 - Math.pow(beta2, t) : 1,
  };
}

const SLOTS: Record<LazyRule, number> = { adam: 2, adagrad: 1, sgd: 0 };
const SLOT_INIT: Record<LazyRule, number> = { adam: 0, adagrad: 0.1, sgd: 0 };

/**
 * The reference: the weight and slots in the orientation where slices are columns ([H, W]: the weight for
 * axis 1, its transpose for axis 0), updated by the cpu kernels' column loops on the summed slices.
 */
function referenceStep(c: SparseCase, w: Float32Array, slots: Float32Array[], rows: Float32Array, p: LazyStepParams): void {
  const [H, W] = c.axis === 1 ? [c.R, c.C] : [c.C, c.R];
  const g = new Float32Array(H * W);
  c.indices.forEach((d, t) => {
    for (let i = 0; i < H; i++) g[i * W + d] += rows[t * H + i];
  });
  const touched = [...new Set(c.indices)].filter((d) => {
    for (let i = 0; i < H; i++) if (g[i * W + d] !== 0) return true;
    return false;
  });
  const cols = Int32Array.from(touched.sort((a, b) => a - b));
  if (c.rule === 'adam') adamColumns(w, slots[0], slots[1], g, H, W, cols, p);
  else if (c.rule === 'adagrad') adagradColumns(w, slots[0], g, H, W, cols, p.learningRate, p.epsilon);
  else sgdColumns(w, g, H, W, cols, p.learningRate);
}

async function runCase(c: SparseCase, reads: { count: number }) {
  const [H, W] = c.axis === 1 ? [c.R, c.C] : [c.C, c.R];
  const n = c.indices.length;
  const w0 = values(c.R * c.C, 3);
  // Reference state in the [H, W] orientation.
  const refW = c.axis === 1 ? w0.slice() : transpose(w0, c.R, c.C);
  const refSlots = Array.from({ length: SLOTS[c.rule] }, () => new Float32Array(H * W).fill(SLOT_INIT[c.rule]));
  // Kernel state: the weight [R, C]; slots stored [C, R] for axis 1 and [R, C] for axis 0: the transpose of [H, W].
  let w = tf.tensor2d(w0, [c.R, c.C]);
  let slots = refSlots.map((s) => tf.tensor2d(transpose(s, H, W), [W, H]));
  const before = tf.memory().numTensors;
  const reads0 = reads.count;
  for (let step = 1; step <= 3; step++) {
    const rows = values(n * H, 10 + step);
    if (c.zeroSlice >= 0) rows.fill(0, c.zeroSlice * H, (c.zeroSlice + 1) * H);
    const p = stepParams(c.rule, step);
    referenceStep(c, refW, refSlots, rows, p);
    const attrs: MePropSparseLazyUpdateAttrs = {
      ...p,
      rule: c.rule,
      rows: c.R,
      cols: c.C,
      lazy: true,
      axis: c.axis,
      unique: new Set(c.indices).size === n,
    };
    const idx = tf.tensor1d(c.indices, 'int32');
    const g = tf.tensor2d(rows, [n, H]);
    const inputs: tf.NamedTensorMap = { value: w, indices: idx, rows: g };
    slots.forEach((s, i) => (inputs[`slot${i}`] = s));
    const next = tf.engine().runKernel(MePropSparseLazyUpdate, inputs, attrs) as tf.Tensor2D[];
    tf.dispose([w, ...slots, idx, g]);
    [w, ...slots] = next;
  }
  const readBacks = reads.count - reads0;
  const leaked = tf.memory().numTensors - before;
  const gotW = await w.data();
  const gotSlots = await Promise.all(slots.map((s) => s.data()));
  tf.dispose([w, ...slots]);
  const wantW = c.axis === 1 ? refW : transpose(refW, H, W);
  const wantSlots = refSlots.map((s) => transpose(s, H, W));
  let maxErr = 0;
  let maxRef = 0;
  let untouchedExact = true;
  [[gotW, wantW] as const, ...gotSlots.map((s, i) => [s, wantSlots[i]] as const)].forEach(([got, want]) => {
    for (let e = 0; e < want.length; e++) {
      maxErr = Math.max(maxErr, Math.abs(got[e] - want[e]));
      maxRef = Math.max(maxRef, Math.abs(want[e]));
    }
  });
  // Entries outside the slices, and in the slice that is zero every step (its index appears once), are copies:
  // compared exactly.
  const untouched = (d: number) => !c.indices.includes(d) || d === c.indices[c.zeroSlice];
  for (let i = 0; i < c.R; i++) {
    for (let j = 0; j < c.C; j++) {
      if (untouched(c.axis === 1 ? j : i) && gotW[i * c.C + j] !== w0[i * c.C + j]) untouchedExact = false;
    }
  }
  const ok = maxErr <= 1e-5 * Math.max(1, maxRef) && untouchedExact && readBacks === 0 && leaked === 0;
  return { ...c, maxErr, untouchedExact, readBacks, leaked, ok };
}

/** Every case on the active backend; `reads` counts its synchronous read-backs. */
export async function checkSparseLazyUpdate(reads: { count: number }) {
  const results = [];
  for (const rule of ['adam', 'adagrad', 'sgd'] as LazyRule[]) {
    for (const [R, C] of [
      [6, 10],
      [7, 5],
    ]) {
      for (const axis of [0, 1] as const) {
        const D = axis === 1 ? C : R;
        results.push(
          await runCase({ rule, R, C, axis, indices: [D - 1, 0, 2, 3].slice(0, Math.min(4, D)), zeroSlice: 2 }, reads),
        );
        results.push(await runCase({ rule, R, C, axis, indices: [3, 1, 3, 0, 1], zeroSlice: 3 }, reads));
      }
    }
  }
  return results;
}
