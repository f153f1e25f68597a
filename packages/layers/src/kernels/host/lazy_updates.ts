// The per-entry update rules on typed arrays, visiting only the touched columns (shared by cpu and wasm).
import type { LazyStepParams } from '../kernel_names';

/** Columns of a row-major [rows, cols] gradient with at least one non-zero (or NaN) entry. */
export function touchedColumns(grad: Float32Array, rows: number, cols: number): Int32Array {
  const hit = new Uint8Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) if (grad[base + j] !== 0 || grad[base + j] !== grad[base + j]) hit[j] = 1;
  }
  let n = 0;
  for (let j = 0; j < cols; j++) n += hit[j];
  const out = new Int32Array(n);
  for (let j = 0, t = 0; j < cols; j++) if (hit[j] === 1) out[t++] = j;
  return out;
}

/** Adam's hyper-parameters and bias corrections: the kernel's step attrs. */
export type AdamParams = LazyStepParams;

/** Adam on the entries (i, cols[t]) of [rows, width] arrays, in place on w, m, v. */
export function adamColumns(
  w: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  rows: number,
  width: number,
  cols: Int32Array,
  p: AdamParams,
): void {
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, correction1: c1, correction2: c2 } = p;
  const a1 = 1 - b1;
  const a2 = 1 - b2;
  const n = cols.length;
  for (let i = 0; i < rows; i++) {
    const base = i * width;
    for (let t = 0; t < n; t++) {
      const e = base + cols[t];
      const gi = g[e];
      const mi = m[e] * b1 + gi * a1;
      const vi = v[e] * b2 + gi * gi * a2;
      m[e] = mi;
      v[e] = vi;
      w[e] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }
}

/** Adam on every entry, in place. */
export function adamDense(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, p: AdamParams): void {
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, correction1: c1, correction2: c2 } = p;
  const a1 = 1 - b1;
  const a2 = 1 - b2;
  for (let e = 0; e < w.length; e++) {
    const gi = g[e];
    const mi = m[e] * b1 + gi * a1;
    const vi = v[e] * b2 + gi * gi * a2;
    m[e] = mi;
    v[e] = vi;
    w[e] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
}

/** Adagrad (epsilon inside the square root, as tfjs) on the given entries, in place on w and acc. */
export function adagradColumns(
  w: Float32Array,
  acc: Float32Array,
  g: Float32Array,
  rows: number,
  width: number,
  cols: Int32Array | null,
  lr: number,
  eps: number,
): void {
  const step = (e: number): void => {
    const gi = g[e];
    const a = acc[e] + gi * gi;
    acc[e] = a;
    w[e] -= (lr * gi) / Math.sqrt(a + eps);
  };
  if (cols === null) {
    for (let e = 0; e < w.length; e++) step(e);
    return;
  }
  for (let i = 0; i < rows; i++) for (let t = 0; t < cols.length; t++) step(i * width + cols[t]);
}

/** Plain SGD on the given entries, in place. */
export function sgdColumns(
  w: Float32Array,
  g: Float32Array,
  rows: number,
  width: number,
  cols: Int32Array | null,
  lr: number,
): void {
  if (cols === null) {
    for (let e = 0; e < w.length; e++) w[e] -= lr * g[e];
    return;
  }
  for (let i = 0; i < rows; i++) {
    const base = i * width;
    for (let t = 0; t < cols.length; t++) w[base + cols[t]] -= lr * g[base + cols[t]];
  }
}
