// Runs inside Chromium: meProp's gradients on one backend (webgl, webgpu, wasm, cpu) against references
// computed on the cpu backend in the same page: plain tfjs gradients for k >= width (exact), the brute-force
// top-k reference of @meprop/core's tests for k < width (per-example and unified), and for random mode the
// plain gradient of dy masked to the columns the backend chose (exactly k of them). Everything goes through
// the public API, so whichever kernels a backend registers (composite ops or its own shaders) are covered.
import * as tf from '@tensorflow/tfjs';
import { MePropConfig, mePropMatMul, mePropMatMulGrads, withMeProp } from '@meprop/core';
import { plainGrads, referenceGrads } from '../../../core/src/test-helpers/reference';
import type { CheckResult, GradientReport, LeakResult } from './check_result';
import { relDiff, seeded } from './values';

const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
type Exact = 'per-example' | 'unified';

interface Operands {
  a: Float32Array;
  aShape: [number, number];
  b: Float32Array;
  bShape: [number, number];
  dy: Float32Array;
  dyShape: [number, number];
}

function operands(M: number, K: number, N: number, tA: boolean, tB: boolean, seed: number): Operands {
  return {
    a: seeded(M * K, seed),
    aShape: tA ? [K, M] : [M, K],
    b: seeded(K * N, seed + 1),
    bShape: tB ? [N, K] : [K, N],
    dy: seeded(M * N, seed + 2),
    dyShape: [M, N],
  };
}

function tensors(o: Operands): { a: tf.Tensor2D; b: tf.Tensor2D; dy: tf.Tensor2D } {
  return { a: tf.tensor2d(o.a, o.aShape), b: tf.tensor2d(o.b, o.bShape), dy: tf.tensor2d(o.dy, o.dyShape) };
}

/** Runs fn on the cpu backend and returns its tensors' values; restores the backend under test after. */
async function onCpu(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend('cpu');
  const ts = tf.tidy(fn);
  const out = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  await tf.setBackend(backend);
  return out;
}

/** Gradients (da, db) of sum(mePropMatMul(a, b) * dy), through tfjs's autodiff. */
function autodiffGrads(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, config: MePropConfig, tA: boolean, tB: boolean): tf.Tensor[] {
  return tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(mePropMatMul(x, w, config, tA, tB), dy)))([a, b]);
}

/** Same through tf.fused.matMul (bias, linear activation) under withMeProp: the path of tfjs-layers' Dense. */
function fusedGrads(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, config: MePropConfig, tA: boolean, tB: boolean): tf.Tensor[] {
  const bias = tf.zeros([dy.shape[1] as number]);
  const g = withMeProp(config, () =>
    tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.mul(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, transposeA: tA, transposeB: tB, bias }), dy)),
    )([a, b]),
  );
  bias.dispose();
  return g;
}

export async function runGradientChecks(backend: string): Promise<GradientReport> {
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`runGradientChecks: backend '${backend}' could not be activated (active: ${tf.getBackend()})`);
  }
  await tf.ready();
  const checks: CheckResult[] = [];
  const leaks: LeakResult[] = [];
  // SwiftShader's float32 arithmetic differs from the cpu's in summation order only.
  const tol = backend === 'cpu' || backend === 'wasm' ? 1e-5 : 1e-4;

  const compare = async (name: string, want: Float32Array[], compute: () => tf.Tensor[]): Promise<void> => {
    const before = tf.memory().numTensors;
    const got = compute();
    const values = await Promise.all(got.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(got);
    ['da', 'db'].forEach((part, i) => checks.push({ name: `${name}: ${part}`, maxRelDiff: relDiff(values[i], want[i]), tol }));
    leaks.push({ name, tensorsBefore: before, tensorsAfter: tf.memory().numTensors });
  };

  // Shapes: odd sizes (7x13 @ 13x29) and an MLP-like layer (32x100 @ 100x64) whose width exceeds one tile.
  for (const [M, K, N, k] of [
    [7, 13, 29, 5],
    [32, 100, 64, 10],
  ]) {
    for (const [tA, tB] of TRANSPOSES) {
      const o = operands(M, K, N, tA, tB, 7 * M + (tA ? 1 : 0) + (tB ? 2 : 0));
      const shape = `${M}x${K}@${K}x${N} tA=${tA} tB=${tB}`;
      const exact = await onCpu(backend, () => {
        const t = tensors(o);
        return plainGrads(t.a, t.b, t.dy, tA, tB);
      });
      for (const mode of ['per-example', 'unified', 'random'] as const) {
        await compare(`${mode} k=${N} (>= width, exact) ${shape}`, exact, () =>
          tf.tidy(() => {
            const t = tensors(o);
            return autodiffGrads(t.a, t.b, t.dy, { k: N, mode, seed: 3 }, tA, tB);
          }),
        );
      }
      for (const mode of ['per-example', 'unified'] as Exact[]) {
        const want = await onCpu(backend, () => {
          const t = tensors(o);
          return referenceGrads(t.a, t.b, t.dy, k, mode, tA, tB);
        });
        await compare(`${mode} k=${k} autodiff ${shape}`, want, () =>
          tf.tidy(() => {
            const t = tensors(o);
            return autodiffGrads(t.a, t.b, t.dy, { k, mode }, tA, tB);
          }),
        );
        await compare(`${mode} k=${k} mePropMatMulGrads ${shape}`, want, () =>
          tf.tidy(() => {
            const t = tensors(o);
            const g = mePropMatMulGrads(t.dy, t.a, t.b, { k, mode }, tA, tB);
            return [g.da, g.db];
          }),
        );
        await compare(`${mode} k=${k} fused.matMul under withMeProp ${shape}`, want, () =>
          tf.tidy(() => {
            const t = tensors(o);
            return fusedGrads(t.a, t.b, t.dy, { k, mode }, tA, tB);
          }),
        );
      }
    }
  }

  // Random mode: one example per step, so dW = x^T dy_kept shows exactly which columns were kept.
  const randomKeptCounts: number[] = [];
  const K = 13;
  const N = 29;
  for (let step = 0; step < 6; step++) {
    const o = operands(1, K, N, false, false, 100 + step);
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => {
      const t = tensors(o);
      return autodiffGrads(t.a, t.b, t.dy, { k: 4, mode: 'random', seed: 11 }, false, false);
    });
    const [da, db] = (await Promise.all(got.map((t) => t.data()))) as Float32Array[];
    tf.dispose(got);
    const kept = Array.from({ length: N }, (_, j) => j).filter((j) =>
      Array.from({ length: K }, (_, r) => db[r * N + j]).some((v) => v !== 0),
    );
    randomKeptCounts.push(kept.length);
    const mask = Float32Array.from({ length: N }, (_, j) => (kept.includes(j) ? 1 : 0));
    const want = await onCpu(backend, () => {
      const t = tensors(o);
      return plainGrads(t.a, t.b, tf.mul(t.dy, tf.tensor2d(mask, [1, N])), false, false);
    });
    checks.push({ name: `random k=4 step ${step}: da`, maxRelDiff: relDiff(da, want[0]), tol });
    checks.push({ name: `random k=4 step ${step}: db`, maxRelDiff: relDiff(db, want[1]), tol });
    leaks.push({ name: `random step ${step}`, tensorsBefore: before, tensorsAfter: tf.memory().numTensors });
  }
  return { backend, checks, leaks, randomKeptCounts };
}
