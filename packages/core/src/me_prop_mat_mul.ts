// mePropMatMul: tf.matMul whose backward is meProp's, with the config given per call (no global state).
import * as tf from '@tensorflow/tfjs-core';
import { keptCount, MePropConfig, validateMePropConfig } from './config';
import { ensureMePropMatMulKernel } from './kernels/me_prop_mat_mul_forward';
import { MePropMatMul, MePropMatMulAttrs } from './kernel_names';
import { makeRuntime, matMulGradThunksWithSink, MePropRuntime } from './sparse_backward';
import type { SparseGradientSink, SparseSlices } from './sparse_gradients';

const runtimes = new WeakMap<MePropConfig, MePropRuntime>();

/** The runtime (config + random stream) of a config object, cached per object so each layer keeps its stream. */
export function runtimeFor(config: MePropConfig, fn: string): MePropRuntime {
  const resolved = validateMePropConfig(config, `${fn}: config`);
  const cached = runtimes.get(config);
  if (
    cached !== undefined &&
    cached.config.k === resolved.k &&
    cached.config.mode === resolved.mode &&
    cached.config.seed === resolved.seed
  ) {
    return cached;
  }
  const r = makeRuntime(resolved);
  runtimes.set(config, r);
  return r;
}

function checkOperand(t: unknown, name: string, fn: string): tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw new Error(`${fn}: ${name} must be a tf.Tensor, got ${typeof t}`);
  if (t.dtype !== 'float32') throw new Error(`${fn}: ${name} must have dtype float32, got ${t.dtype}`);
  if (t.rank !== 2 && t.rank !== 3)
    throw new Error(`${fn}: ${name} must have rank 2 or 3, got rank ${t.rank} (shape [${t.shape}])`);
  return t;
}

function checkShapes(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, fn: string): void {
  const innerA = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const innerB = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  if (innerA !== innerB) {
    throw new Error(
      `${fn}: inner dimensions of a [${a.shape}] and b [${b.shape}] (transposeA=${transposeA}, transposeB=${transposeB}) ` +
        `must match, got ${innerA} and ${innerB}`,
    );
  }
  if (a.rank === 3 && b.rank === 3 && a.shape[0] !== b.shape[0] && a.shape[0] !== 1 && b.shape[0] !== 1) {
    throw new Error(`${fn}: batch dimensions of a [${a.shape}] and b [${b.shape}] must match or be 1`);
  }
}

function checkFlag(v: unknown, name: string, fn: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${fn}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}

/**
 * y = op(a) @ op(b), exactly as tf.matMul. In back-propagation the gradient dy keeps only its top-k entries
 * (per `config`), and da and db are computed from that sparse dy; only k columns of b get a gradient per
 * example. Each of da and db is computed only if something needs it: for an input that needs no gradient
 * (e.g. a model's input data) that product is skipped. Rank 2, or rank 3 (a batch of matrices, as
 * tfjs-layers feeds Dense with 3-D inputs).
 */
export function mePropMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  config: MePropConfig,
  transposeA = false,
  transposeB = false,
): tf.Tensor {
  const fn = 'mePropMatMul';
  const $a = checkOperand(a, 'a', fn);
  const $b = checkOperand(b, 'b', fn);
  const tA = checkFlag(transposeA, 'transposeA', fn);
  const tB = checkFlag(transposeB, 'transposeB', fn);
  checkShapes($a, $b, tA, tB, fn);
  const runtime = runtimeFor(config, fn);
  ensureMePropMatMulKernel(tf.getBackend());
  // A kernel with a registered gradient (gradients/me_prop_mat_mul_grad.ts) rather than tf.customGrad: the
  // registered gradient returns lazy thunks, so tfjs skips dx when the input needs no gradient. The runtime
  // rides in the attrs, which only that gradient reads.
  const attrs: MePropMatMulAttrs = { transposeA: tA, transposeB: tB, runtime };
  return tf.engine().runKernel(MePropMatMul, { a: $a, b: $b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * The meProp gradients (da, db) of y = op(a) @ op(b) for a given dy, computed eagerly: the building block
 * for custom layers and for benchmarking the backward alone.
 */
export function mePropMatMulGrads(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  config: MePropConfig,
  transposeA = false,
  transposeB = false,
): { da: tf.Tensor; db: tf.Tensor } {
  const fn = 'mePropMatMulGrads';
  const $a = checkOperand(a, 'a', fn);
  const $b = checkOperand(b, 'b', fn);
  checkOperand(dy, 'dy', fn);
  checkShapes($a, $b, transposeA, transposeB, fn);
  const runtime = runtimeFor(config, fn);
  return tf.tidy(() => {
    const g = matMulGradThunksWithSink(dy, $a, $b, transposeA, transposeB, runtime, undefined, true);
    return { da: g.a(), db: g.b() };
  });
}

/**
 * Like mePropMatMulGrads, but the weight gradient stays sparse: db is the k kept slices of the dense
 * gradient with their indices (`SparseSlices`, TensorFlow's IndexedSlices along the axis of b that holds
 * the output units: columns of b [K, N], or rows when transposeB), as the lazy optimizers receive them from
 * a sparse-gradient session, instead of a dense [K, N] tensor that is zero outside those k slices. Unified
 * mode only (the other modes keep different columns per example); a and b of rank 2; k < N (at k >= N the
 * gradient is dense: use mePropMatMulGrads). The caller owns every returned tensor.
 */
export function mePropMatMulSliceGrads(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  config: MePropConfig,
  transposeA = false,
  transposeB = false,
): { da: tf.Tensor; db: SparseSlices } {
  const fn = 'mePropMatMulSliceGrads';
  const $a = checkOperand(a, 'a', fn);
  const $b = checkOperand(b, 'b', fn);
  checkOperand(dy, 'dy', fn);
  if ($a.rank !== 2 || $b.rank !== 2 || dy.rank !== 2) {
    throw new Error(`${fn}: a, b and dy must have rank 2, got ranks ${$a.rank}, ${$b.rank} and ${dy.rank}`);
  }
  checkShapes($a, $b, transposeA, transposeB, fn);
  const runtime = runtimeFor(config, fn);
  if (runtime.config.mode !== 'unified') {
    throw new Error(
      `${fn}: config.mode must be 'unified' (the only mode whose kept columns are shared), got '${runtime.config.mode}'`,
    );
  }
  const N = dy.shape[1] as number;
  const k = keptCount(runtime.config.k, N);
  if (k >= N) throw new Error(`${fn}: config.k keeps ${k} of ${N} columns, so the gradient is dense: use mePropMatMulGrads`);
  let slices: SparseSlices | null = null;
  const sink: SparseGradientSink = {
    accept: (indices, rows, axis) => {
      slices = {
        indices: tf.keep(tf.clone(indices)),
        rows: tf.keep(rows),
        axis,
        denseShape: [$b.shape[0] as number, $b.shape[1] as number],
        unique: true,
      };
      return tf.zeros([1]); // what the engine would get; unused here, disposed by the tidy
    },
  };
  const da = tf.tidy(() => {
    const g = matMulGradThunksWithSink(dy, $a, $b, transposeA, transposeB, runtime, sink, true);
    const out = g.a();
    g.b();
    return out;
  });
  if (slices === null) throw new Error(`${fn}: internal error: the backward returned no slices`);
  return { da, db: slices };
}
