// meProp's backward for y = op(a) @ op(b): keep k entries of dy, then compute da and db from those only.
import * as tf from '@tensorflow/tfjs-core';
import { keptCount, ResolvedMePropConfig } from './config';
import { compositeGradA, compositeGradB } from './kernels/fallback';
import {
  MePropGatherMatMul,
  MePropGatherMatMulAttrs,
  MePropGatherColumns,
  MePropGatherColumnsAttrs,
  MePropScatterColumns,
  MePropScatterColumnsAttrs,
  MePropPerExampleBackward,
  MePropPerExampleBackwardAttrs,
  MePropSparseGradA,
  MePropSparseGradAttrs,
  MePropSparseGradB,
  MePropUnifiedBackward,
  MePropUnifiedBackwardAttrs,
  MePropUnifiedGradB,
  MePropUnifiedGradBAttrs,
} from './kernel_names';
import { Rng } from './rng';
import { hasColumnSelectKernel, hasMePropKernels, selectColumns, selectEntries, Selection } from './selection';
import { SparseGradientSink, sparseGradientSink } from './sparse_gradients';
import { recordBackward } from './stats';

/** Lazily computed input gradients, as tfjs's gradient functions return them. */
export interface MatMulGradThunks {
  [inputName: string]: () => tf.Tensor;
  a: () => tf.Tensor;
  b: () => tf.Tensor;
}

/** A resolved config plus the random generator its `random` mode draws from. */
export interface MePropRuntime {
  readonly config: ResolvedMePropConfig;
  readonly rng: Rng;
}

export function makeRuntime(config: ResolvedMePropConfig): MePropRuntime {
  const seed = config.seed ?? Math.floor(Math.random() * 0xffffffff);
  return { config, rng: new Rng(seed) };
}

/** The exact gradients of y = op(a) @ op(b), as tfjs computes them. */
export function exactMatMulGrads(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): MatMulGradThunks {
  if (!transposeA && !transposeB) return { a: () => tf.matMul(dy, b, false, true), b: () => tf.matMul(a, dy, true, false) };
  if (!transposeA && transposeB) return { a: () => tf.matMul(dy, b, false, false), b: () => tf.matMul(dy, a, true, false) };
  if (transposeA && !transposeB) return { a: () => tf.matMul(b, dy, false, true), b: () => tf.matMul(a, dy, false, false) };
  return { a: () => tf.matMul(b, dy, true, true), b: () => tf.matMul(dy, a, true, true) };
}

/**
 * Unified mode: every row keeps the same k columns, so the backward is two small dense matmuls on the
 * gathered columns ([M,k] @ [k,K] and [k,M] @ [M,K]) and a scatter of k rows into the weight gradient.
 * With a sink (an optimizer collecting sparse gradients), the k rows go to the sink instead of the scatter.
 */
function unifiedGrads(
  shared: tf.Tensor1D,
  values: tf.Tensor2D,
  N: number,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA: boolean,
  transposeB: boolean,
  sink: SparseGradientSink | null,
): MatMulGradThunks {
  const K = transposeA ? a.shape[0] : a.shape[1];
  const backend = tf.getBackend();
  return {
    a: () => {
      if (tf.getKernel(MePropGatherMatMul, backend) !== undefined) {
        const attrs: MePropGatherMatMulAttrs = { transposeA, transposeB };
        return tf.engine().runKernel(MePropGatherMatMul, { values, indices: shared, b }, attrs) as tf.Tensor;
      }
      const axis = transposeB ? 0 : 1;
      const wKept =
        tf.getKernel(MePropGatherColumns, backend) !== undefined
          ? (tf
              .engine()
              .runKernel(MePropGatherColumns, { x: b, indices: shared }, { axis } as MePropGatherColumnsAttrs) as tf.Tensor)
          : tf.gather(b, shared, axis);
      const dX = tf.matMul(values, wKept, false, !transposeB);
      return transposeA ? tf.transpose(dX) : dX;
    },
    b: () => {
      if (tf.getKernel(MePropUnifiedGradB, backend) !== undefined) {
        // One kernel for the slices (and their scatter): fixed costs per tfjs op dominate at these sizes.
        const attrs: MePropUnifiedGradBAttrs = { transposeA, transposeB, N, dense: sink === null };
        const out = tf.engine().runKernel(MePropUnifiedGradB, { values, indices: shared, a }, attrs) as tf.Tensor;
        return sink === null ? out : sink.accept(shared, out as tf.Tensor2D, transposeB ? 0 : 1);
      }
      const rows = tf.matMul(values, a, true, transposeA) as tf.Tensor2D; // [k, K]: the kept slices of dW
      if (sink !== null) return sink.accept(shared, rows, transposeB ? 0 : 1);
      if (tf.getKernel(MePropScatterColumns, backend) !== undefined) {
        const attrs: MePropScatterColumnsAttrs = { N, rowsOut: transposeB };
        return tf.engine().runKernel(MePropScatterColumns, { rows, indices: shared }, attrs) as tf.Tensor;
      }
      const scattered = tf.scatterND(tf.expandDims(shared, 1), rows, [N, K]);
      return transposeB ? scattered : tf.transpose(scattered);
    },
  };
}

/**
 * Unified mode in one backend kernel (tensorflow): selection and dW now, in one call, and dx too when both
 * are known to be needed (`both`). Otherwise dx comes later from the kept columns, only if the engine asks
 * for it (a model's first layer needs no dx); dW made now is disposed with the backward's scope if the
 * engine never asks for it (a frozen weight).
 */
function fusedUnifiedGrads(
  dy: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA: boolean,
  transposeB: boolean,
  k: number,
  sink: SparseGradientSink | null,
  both: boolean,
): MatMulGradThunks {
  const attrs: MePropUnifiedBackwardAttrs = { k, transposeA, transposeB, denseW: sink === null, withDx: both };
  const [indices, dW, third] = tf.engine().runKernel(MePropUnifiedBackward, { dy, a, b }, attrs) as tf.Tensor[];
  return {
    a: () => {
      if (both) return third;
      const dxAttrs: MePropGatherMatMulAttrs = { transposeA, transposeB };
      return tf.engine().runKernel(MePropGatherMatMul, { values: third, indices, b }, dxAttrs) as tf.Tensor;
    },
    b: () => (sink === null ? dW : sink.accept(indices as tf.Tensor1D, dW as tf.Tensor2D, transposeB ? 0 : 1)),
  };
}

/**
 * Per-example mode in one backend kernel (tensorflow), like fusedUnifiedGrads: selection and dW now, dx too
 * when both are known to be needed; otherwise dx comes later from the kept entries (MePropSparseGradA), only
 * if the engine asks for it.
 */
function fusedPerExampleGrads(
  dy: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA: boolean,
  transposeB: boolean,
  k: number,
  both: boolean,
): MatMulGradThunks {
  const attrs: MePropPerExampleBackwardAttrs = { k, transposeA, transposeB, withDx: both };
  const [indices, dW, third] = tf.engine().runKernel(MePropPerExampleBackward, { dy, a, b }, attrs) as tf.Tensor[];
  return {
    a: () => {
      if (both) return third;
      const [M, N] = dy.shape;
      const K = transposeA ? a.shape[0] : a.shape[1];
      const dxAttrs: MePropSparseGradAttrs = { transposeA, transposeB, M, K, N, shared: false };
      return tf.engine().runKernel(MePropSparseGradA, { indices, values: third, b }, dxAttrs) as tf.Tensor;
    },
    b: () => dW,
  };
}

/**
 * Whether unified mode should use the gathered dense path (true) or the sparse loops (false) here: every backend
 * but cpu, whose dense matmul is slower than our per-entry loops.
 */
function preferGatheredUnified(): boolean {
  return !hasMePropKernels() || tf.getBackend() !== 'cpu';
}

function grads2D(
  dy: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA: boolean,
  transposeB: boolean,
  k: number,
  runtime: MePropRuntime,
  sink: SparseGradientSink | null,
  both: boolean,
): MatMulGradThunks {
  const [M, N] = dy.shape;
  const K = transposeA ? a.shape[0] : a.shape[1];
  // A matmul's row is one example: per-sample (one channel list per example) is per-example there.
  const mode = runtime.config.mode === 'per-sample' ? 'per-example' : runtime.config.mode;
  recordBackward(M, K, N, k);
  if (mode === 'unified' && tf.getKernel(MePropUnifiedBackward, tf.getBackend()) !== undefined) {
    return fusedUnifiedGrads(dy, a, b, transposeA, transposeB, k, sink, both);
  }
  if (mode === 'per-example' && tf.getKernel(MePropPerExampleBackward, tf.getBackend()) !== undefined) {
    return fusedPerExampleGrads(dy, a, b, transposeA, transposeB, k, both);
  }
  if (mode === 'unified' && hasColumnSelectKernel()) {
    // The backend selects the shared columns itself (tensorflow): no host read, no [M, k] index table.
    const { shared, values } = selectColumns(dy, k);
    return unifiedGrads(shared, values, N, a, b, transposeA, transposeB, sink);
  }
  const sel: Selection = selectEntries(dy, k, mode, runtime.rng.nextUint32());
  if (mode === 'unified' && (preferGatheredUnified() || sink !== null)) {
    const shared = sel.shared ?? (tf.reshape(tf.slice(sel.indices, [0, 0], [1, sel.k]), [sel.k]) as tf.Tensor1D);
    return unifiedGrads(shared, sel.values, N, a, b, transposeA, transposeB, sink);
  }
  if (hasMePropKernels()) {
    const attrs: MePropSparseGradAttrs = { transposeA, transposeB, M, K, N, shared: mode === 'unified' };
    return {
      a: () => tf.engine().runKernel(MePropSparseGradA, { indices: sel.indices, values: sel.values, b }, attrs) as tf.Tensor,
      b: () => tf.engine().runKernel(MePropSparseGradB, { indices: sel.indices, values: sel.values, a }, attrs) as tf.Tensor,
    };
  }
  return {
    a: () => compositeGradA(sel, b, transposeA, transposeB),
    b: () => compositeGradB(sel, a, transposeA, transposeB),
  };
}

/**
 * The meProp gradients of y = op(a) @ op(b) for dy, following tfjs's matMul conventions: a and b of rank 2
 * or 3 (a batch of matrices; a batch of 1 broadcasts). Top-k is taken over the last axis of dy, per row.
 * Selection runs now; the products run when the returned thunks are called, so tfjs skips the ones it
 * does not need (e.g. dx of a model's first layer).
 */
export function mePropMatMulGradThunks(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
  runtime: MePropRuntime,
): MatMulGradThunks {
  return matMulGradThunksWithSink(dy, a, b, transposeA, transposeB, runtime, undefined);
}

/**
 * mePropMatMulGradThunks, with the weight's slices handed to `sinkOverride` when given (unified mode).
 * `both`: the caller will ask for both gradients (a backend may then compute them in one call).
 */
export function matMulGradThunksWithSink(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
  runtime: MePropRuntime,
  sinkOverride: SparseGradientSink | undefined,
  both = false,
): MatMulGradThunks {
  const N = dy.shape[dy.rank - 1];
  const k = keptCount(runtime.config.k, N);
  if (k >= N) return exactMatMulGrads(dy, a, b, transposeA, transposeB);

  // An optimizer collecting sparse gradients (see sparse_gradients.ts) takes the weight's kept slices when
  // b is the saved copy of one of its variables (or of a view adding leading 1s, as tf.fused.matMul makes).
  const sink = sinkOverride ?? (runtime.config.mode === 'unified' ? sparseGradientSink(b) : null);
  if (a.rank === 2 && b.rank === 2) {
    return grads2D(dy as tf.Tensor2D, a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB, k, runtime, sink, both);
  }
  const batchA = a.rank === 3 ? a.shape[0] : 1;
  const batchB = b.rank === 3 ? b.shape[0] : 1;
  const b2 = b.rank === 3 ? (batchB === 1 ? tf.reshape(b, b.shape.slice(1)) : null) : b;
  if (b2 !== null && !transposeA) {
    // One weight matrix for the whole batch (how Dense sees 3-D inputs): fold the batch into the rows.
    const K = a.shape[a.rank - 1];
    const g = grads2D(
      tf.reshape(dy, [-1, N]) as tf.Tensor2D,
      tf.reshape(a, [-1, K]) as tf.Tensor2D,
      b2 as tf.Tensor2D,
      false,
      transposeB,
      k,
      runtime,
      sink,
      both,
    );
    return { a: () => tf.reshape(g.a(), a.shape), b: () => tf.reshape(g.b(), b.shape) };
  }
  // General batched case: one 2-D backward per batch entry; broadcast inputs sum their gradients.
  const batch = Math.max(batchA, batchB);
  const dy3 = tf.reshape(dy, [batch, dy.shape[dy.rank - 2], N]);
  const a3 = a.rank === 3 ? a : tf.expandDims(a, 0);
  const b3 = b.rank === 3 ? b : tf.expandDims(b, 0);
  const parts: MatMulGradThunks[] = [];
  for (let i = 0; i < batch; i++) {
    const ai = tf.squeeze(tf.slice(a3, [batchA === 1 ? 0 : i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
    const bi = tf.squeeze(tf.slice(b3, [batchB === 1 ? 0 : i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
    const dyi = tf.squeeze(tf.slice(dy3, [i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
    parts.push(grads2D(dyi, ai, bi, transposeA, transposeB, k, runtime, null, both));
  }
  const combine = (gs: tf.Tensor[], batchX: number, target: tf.Tensor): tf.Tensor =>
    tf.reshape(batchX === 1 ? tf.addN(gs) : tf.stack(gs), target.shape);
  return {
    a: () =>
      combine(
        parts.map((p) => p.a()),
        batchA,
        a,
      ),
    b: () =>
      combine(
        parts.map((p) => p.b()),
        batchB,
        b,
      ),
  };
}
