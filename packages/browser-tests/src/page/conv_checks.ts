// Runs inside Chromium: meProp's conv gradients (mePropConv2d) on one backend against plain tfjs gradients on
// the page's cpu backend, for dy masked to the entries meProp keeps: the k channels of largest |dy| at every
// example and position (per-example, the paper's CNN mode; on cpu and wasm the sparse loops of @meprop/core,
// WebAssembly SIMD where the browser has it) and the k channels of largest Σ|dy| over the batch and positions
// (unified), and each example's k channels of largest Σ|dy| over its positions (per-sample, an ablation); k >=
// channels is the exact gradient. The masks are computed here in plain JavaScript.
import * as tf from '@tensorflow/tfjs';
import { mePropConv2d, type MePropConfig } from '@meprop/core';
import type { CheckResult, ConvReport, LeakResult } from './check_result';
import { relDiff, seeded } from './values';

type Shape4 = [number, number, number, number];

interface ConvCase {
  name: string;
  x: Shape4;
  f: Shape4;
  strides: number;
  pad: 'same' | 'valid';
  k: number;
}

const CASES: ConvCase[] = [
  { name: 'x 2x9x8x5, 3x3 5->12, same, k=3', x: [2, 9, 8, 5], f: [3, 3, 5, 12], strides: 1, pad: 'same', k: 3 },
  {
    name: 'x 2x10x10x16, 3x3 16->24, stride 2, valid, k=4',
    x: [2, 10, 10, 16],
    f: [3, 3, 16, 24],
    strides: 2,
    pad: 'valid',
    k: 4,
  },
];

/** dy [P, CO] masked to the k channels of largest |dy| per row (ties to the lower channel). */
function maskPerPosition(dy: Float32Array, CO: number, k: number): Float32Array {
  const out = new Float32Array(dy.length);
  for (let p = 0; p < dy.length / CO; p++) {
    const order = Array.from({ length: CO }, (_, c) => c).sort(
      (a, b) => Math.abs(dy[p * CO + b]) - Math.abs(dy[p * CO + a]) || a - b,
    );
    for (const c of order.slice(0, k)) out[p * CO + c] = dy[p * CO + c];
  }
  return out;
}

/** dy [B, OH, OW, CO] masked to each example's k channels of largest Σ|dy| over its positions (per-sample). */
function maskPerSample(dy: Float32Array, B: number, CO: number, k: number): Float32Array {
  const per = dy.length / B;
  const out = new Float32Array(dy.length);
  for (let b = 0; b < B; b++) {
    const score = new Float64Array(CO);
    for (let i = 0; i < per; i++) score[i % CO] += Math.abs(dy[b * per + i]);
    const keep = new Set(
      Array.from({ length: CO }, (_, c) => c)
        .sort((p, q) => score[q] - score[p] || p - q)
        .slice(0, k),
    );
    for (let i = 0; i < per; i++) if (keep.has(i % CO)) out[b * per + i] = dy[b * per + i];
  }
  return out;
}

/** dy [P, CO] masked to the k channels of largest Σ|dy| over all rows (ties to the lower channel). */
function maskUnified(dy: Float32Array, CO: number, k: number): Float32Array {
  const score = new Float64Array(CO);
  for (let i = 0; i < dy.length; i++) score[i % CO] += Math.abs(dy[i]);
  const keep = new Set(
    Array.from({ length: CO }, (_, c) => c)
      .sort((a, b) => score[b] - score[a] || a - b)
      .slice(0, k),
  );
  return dy.map((v, i) => (keep.has(i % CO) ? v : 0));
}

export async function runConvChecks(backend: string): Promise<ConvReport> {
  const checks: CheckResult[] = [];
  const leaks: LeakResult[] = [];
  const tol = backend === 'cpu' || backend === 'wasm' ? 1e-5 : 1e-4;
  for (const c of CASES) {
    const xv = seeded(
      c.x.reduce((a, b) => a * b),
      5,
    );
    const fv = seeded(
      c.f.reduce((a, b) => a * b),
      6,
    );
    const CO = c.f[3];
    // The output's shape, from a plain forward on cpu.
    await tf.setBackend('cpu');
    const yShape = tf.tidy(() => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f), c.strides, c.pad).shape);
    const dyv = seeded(
      yShape.reduce((a, b) => a * b),
      7,
    );
    const wants: Array<[string, MePropConfig, Float32Array]> = [
      ['per-example', { k: c.k, mode: 'per-example' }, maskPerPosition(dyv, CO, c.k)],
      ['unified', { k: c.k, mode: 'unified' }, maskUnified(dyv, CO, c.k)],
      ['per-sample', { k: c.k, mode: 'per-sample' }, maskPerSample(dyv, c.x[0], CO, c.k)],
      ['per-example k >= channels (exact)', { k: CO, mode: 'per-example' }, dyv],
    ];
    for (const [label, config, masked] of wants) {
      await tf.setBackend('cpu');
      const want = tf.tidy(() =>
        tf.grads((x: tf.Tensor, f: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), tf.tensor(masked, yShape))),
        )([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]),
      );
      const wantValues = want.map((t) => t.dataSync() as Float32Array);
      tf.dispose(want);
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() =>
        tf.grads((x: tf.Tensor, f: tf.Tensor) =>
          tf.sum(
            tf.mul(
              mePropConv2d(x as tf.Tensor4D, f as tf.Tensor4D, config, { strides: c.strides, pad: c.pad }),
              tf.tensor(dyv, yShape),
            ),
          ),
        )([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]),
      );
      const values = (await Promise.all(got.map((t) => t.data()))) as Float32Array[];
      tf.dispose(got);
      leaks.push({ name: `${c.name} ${label}`, tensorsBefore: before, tensorsAfter: tf.memory().numTensors });
      ['dx', 'dW'].forEach((part, i) =>
        checks.push({ name: `${c.name} ${label}: ${part}`, maxRelDiff: relDiff(values[i], wantValues[i]), tol }),
      );
    }
    // Random channels (an ablation): the same seed draws the same entries on every backend, so the gradients
    // must equal meProp's own on cpu (whose random path core's tests check against plain gradients).
    const grads = (): tf.Tensor[] =>
      tf.grads((x: tf.Tensor, f: tf.Tensor) =>
        tf.sum(
          tf.mul(
            // A fresh config object per call: a config's random stream advances with each backward.
            mePropConv2d(
              x as tf.Tensor4D,
              f as tf.Tensor4D,
              { k: c.k, mode: 'random', seed: 5 },
              { strides: c.strides, pad: c.pad },
            ),
            tf.tensor(dyv, yShape),
          ),
        ),
      )([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)]);
    await tf.setBackend('cpu');
    const onCpu = tf.tidy(grads);
    const cpuValues = onCpu.map((t) => t.dataSync() as Float32Array);
    tf.dispose(onCpu);
    await tf.setBackend(backend);
    const got = tf.tidy(grads);
    const values = (await Promise.all(got.map((t) => t.data()))) as Float32Array[];
    tf.dispose(got);
    ['dx', 'dW'].forEach((part, i) => {
      // Both all zero would pass the comparison: an all-zero gradient counts as a failure.
      const empty = !values[i].some((v) => v !== 0);
      checks.push({
        name: `${c.name} random (vs cpu): ${part}`,
        maxRelDiff: empty ? NaN : relDiff(values[i], cpuValues[i]),
        tol,
      });
    });
  }
  return { backend, checks, leaks };
}
