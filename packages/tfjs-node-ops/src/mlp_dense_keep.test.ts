// The unified backward's kept dense dW (native/mlp_backward.cc, DenseKeep): the op outputs the same buffer again
// only when nobody else holds it, and every output is exactly what a fresh buffer gives (keepDw: false), whatever
// the caller did with the previous one (kept it, fed it to other ops, made a variable or a view of it).
import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';
import { withNativeScope } from '@meprop/core';

import { loadNativeOps } from './index';

const run = testBackends().includes('tensorflow') ? describe : describe.skip;

interface Case {
  M: number;
  K: number;
  N: number;
  k: number;
  tA: boolean;
  tB: boolean;
}

function operands(c: Case, seed: number) {
  return {
    dy: tf.randomNormal([c.M, c.N], 0, 1, 'float32', seed) as tf.Tensor2D,
    a: tf.randomNormal(c.tA ? [c.K, c.M] : [c.M, c.K], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
    b: tf.randomNormal(c.tB ? [c.N, c.K] : [c.K, c.N], 0, 1, 'float32', seed + 2) as tf.Tensor2D,
  };
}

/** The unified backward with a dense dW: [indices, dW, dx]. */
function unified(ops: { dy: tf.Tensor; a: tf.Tensor; b: tf.Tensor }, c: Case, keepDw: boolean, threads = 0): tf.Tensor[] {
  const attrs = { k: c.k, transposeA: c.tA, transposeB: c.tB, denseW: true, withDx: true, threads, keepDw };
  return tf.engine().runKernel('MePropUnifiedBackward', ops, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** [reused, kept]: how many dense dW outputs so far were a kept buffer output again, and fresh buffers kept. */
function stats(): [number, number] {
  return withNativeScope(tf.backend(), (s) => {
    const [t] = s.op('MePropMlpDenseKeepStats', [], [], 1);
    const v = s.binding.tensorDataSync(t.id);
    return [v[0], v[1]];
  });
}

const bits = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer.slice(0));

/** Brute force for dW: X^T (dy with only the kept columns), shaped like b. */
function bruteDw(ops: { dy: tf.Tensor2D; a: tf.Tensor2D }, c: Case, cols: number[]): Float32Array {
  const a = ops.a.dataSync();
  const d = ops.dy.dataSync();
  const x = (m: number, r: number) => (c.tA ? a[r * c.M + m] : a[m * c.K + r]);
  const out = new Float32Array(c.K * c.N);
  for (const j of cols)
    for (let r = 0; r < c.K; r++) {
      let s = 0;
      for (let m = 0; m < c.M; m++) s += x(m, r) * d[m * c.N + j];
      out[c.tB ? j * c.K + r : r * c.N + j] = s;
    }
  return out;
}

function expectClose(actual: tf.Tensor, expected: Float32Array): void {
  const v = actual.dataSync();
  let worst = 0;
  for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(1e-4);
  // Outside the kept slices: exactly +0 (not -0, not a stale value).
  let notZero = 0;
  for (let i = 0; i < v.length; i++) if (expected[i] === 0 && !Object.is(v[i], 0)) notZero++;
  expect(notZero).toBe(0);
}

run('unified backward: the kept dense dW [tensorflow]', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
    loadNativeOps();
  });

  const cases: Case[] = [
    { M: 33, K: 70, N: 130, k: 17, tA: false, tB: false },
    { M: 33, K: 70, N: 130, k: 17, tA: true, tB: true },
    { M: 256, K: 512, N: 1000, k: 20, tA: false, tB: false }, // dW of 2 MB (the largest kept), split along K
    { M: 12, K: 40, N: 90, k: 5, tA: false, tB: true },
  ];

  it.each(cases)('reuses the buffer once released: every call = a fresh buffer to the bit = brute force (%o)', (c) => {
    for (const threads of [0, 1, 2]) {
      let previous: Buffer | null = null;
      for (let step = 0; step < (c.M > 100 ? 3 : 5); step++) {
        const ops = operands(c, 100 + step);
        const [r0] = stats();
        const kept = unified(ops, c, true, threads);
        const [r1] = stats();
        // The first call of a kernel (and the first after the fresh calls below) allocates; later ones reuse.
        if (step > 0) expect(r1 - r0).toBe(1);
        const fresh = unified(ops, c, false, threads);
        for (let i = 0; i < 3; i++) expect(bits(kept[i]).equals(bits(fresh[i]))).toBe(true);
        const cols = Array.from(kept[0].dataSync());
        expectClose(kept[1], bruteDw(ops, c, cols));
        const now = bits(kept[1]);
        if (previous !== null) expect(now.equals(previous)).toBe(false); // new dy, new gradient
        previous = now;
        tf.dispose([...kept, ...fresh, ops.dy, ops.a, ops.b]);
      }
    }
  });

  it('keeps no dense dW above 2 MB (1024x1024): a fresh buffer every call, the same bits', () => {
    const c: Case = { M: 64, K: 1024, N: 1024, k: 8, tA: false, tB: false };
    for (let step = 0; step < 3; step++) {
      const ops = operands(c, 200 + step);
      const [r0, k0] = stats();
      const kept = unified(ops, c, true);
      const [r1, k1] = stats();
      expect([r1 - r0, k1 - k0]).toEqual([0, 0]);
      const fresh = unified(ops, c, false);
      for (let i = 0; i < 3; i++) expect(bits(kept[i]).equals(bits(fresh[i]))).toBe(true);
      expectClose(kept[1], bruteDw(ops, c, Array.from(kept[0].dataSync())));
      tf.dispose([...kept, ...fresh, ops.dy, ops.a, ops.b]);
    }
  });

  it('never writes a gradient someone still holds: kept, fed to ops, a variable, a reshaped or sliced view', () => {
    const c = cases[0];
    const inputs: tf.Tensor[] = [];
    const call = (seed: number) => {
      const ops = operands(c, seed);
      inputs.push(ops.dy, ops.a, ops.b);
      return unified(ops, c, true);
    };
    const delta = (f: () => tf.Tensor[]): [tf.Tensor[], number, number] => {
      const [r0, k0] = stats();
      const out = f();
      const [r1, k1] = stats();
      return [out, r1 - r0, k1 - k0];
    };
    const held: Array<[tf.Tensor, Buffer]> = [];
    const hold = (t: tf.Tensor) => held.push([t, bits(t)]);
    // g is the kept buffer now. Ops on it while it is alive must not forward it into their outputs.
    const g = call(7);
    const twice = tf.mul(g[1], 2);
    const sum = tf.add(g[1], g[1]);
    hold(g[1]);
    hold(twice);
    hold(sum);
    // 1) g itself still held: the next call allocates (and keeps that buffer), g is untouched.
    const [h, reused1, kept1] = delta(() => call(8));
    expect([reused1, kept1]).toEqual([0, 1]);
    // 2) h released, but a reshaped view of it shares its buffer: no reuse.
    const flat = tf.reshape(h[1], [-1]);
    hold(flat);
    tf.dispose(h);
    const [i, reused2, kept2] = delta(() => call(9));
    expect([reused2, kept2]).toEqual([0, 1]);
    // 3) i released with a row slice of it alive (TensorFlow may share the buffer or copy: either way untouched).
    const rows = tf.slice(i[1], [0, 0], [3, c.N]);
    hold(rows);
    tf.dispose(i);
    const j = call(10);
    // 4) j released into a variable (tfjs keeps the same tensor for it): untouched.
    const v = tf.variable(j[1] as tf.Tensor2D);
    hold(v);
    tf.dispose(j);
    // More calls, each released: reused, each = a fresh buffer to the bit; nothing held ever changes.
    for (let step = 0; step < 4; step++) {
      const ops = operands(c, 20 + step);
      const [out, reused] = delta(() => unified(ops, c, true));
      if (step > 0) expect(reused).toBe(1);
      const fresh = unified(ops, c, false);
      expect(bits(out[1]).equals(bits(fresh[1]))).toBe(true);
      tf.dispose([...out, ...fresh, ops.dy, ops.a, ops.b]);
      for (const [t, b] of held) expect(bits(t).equals(b)).toBe(true);
    }
    tf.dispose([...g, ...held.map(([t]) => t), ...inputs]);
  });

  it('alternates shapes, k and layouts: each output = a fresh buffer to the bit', () => {
    const mix: Case[] = [
      { M: 20, K: 50, N: 60, k: 7, tA: false, tB: false },
      { M: 20, K: 60, N: 50, k: 7, tA: false, tB: false }, // same kernel (same attrs), another shape
      { M: 9, K: 50, N: 60, k: 7, tA: false, tB: false }, // another batch: dW's shape is the same
      { M: 20, K: 50, N: 60, k: 3, tA: false, tB: false },
      { M: 20, K: 50, N: 60, k: 7, tA: false, tB: true },
    ];
    for (let round = 0; round < 3; round++)
      mix.forEach((c, i) => {
        const ops = operands(c, 300 + 10 * round + i);
        const kept = unified(ops, c, true);
        const fresh = unified(ops, c, false);
        for (let j = 0; j < 3; j++) expect(bits(kept[j]).equals(bits(fresh[j]))).toBe(true);
        expectClose(kept[1], bruteDw(ops, c, Array.from(kept[0].dataSync())));
        tf.dispose([...kept, ...fresh, ops.dy, ops.a, ops.b]);
      });
  });

  it('NaN and Infinity in the kept slices are cleared on the next call', () => {
    const c: Case = { M: 4, K: 6, N: 10, k: 2, tA: false, tB: false };
    const dy = tf.tensor2d(
      [...Array(40).keys()].map((i) => (i === 3 ? NaN : i === 17 ? Infinity : (i % 7) - 3)),
      [4, 10],
    );
    const a = tf.randomNormal([4, 6], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([6, 10], 0, 1, 'float32', 2) as tf.Tensor2D;
    const g = unified({ dy, a, b }, c, true);
    expect(Array.from(g[0].dataSync())).toEqual([3, 7]);
    expect(g[1].dataSync().some((x) => Number.isNaN(x))).toBe(true);
    tf.dispose(g);
    const dy2 = tf.tensor2d(
      [...Array(40).keys()].map((i) => (i % 10 === 0 ? 5 : i % 10 === 1 ? -4 : 0.5)),
      [4, 10],
    );
    const [r0] = stats();
    const h = unified({ dy: dy2, a, b }, c, true);
    expect(stats()[0] - r0).toBe(1);
    const fresh = unified({ dy: dy2, a, b }, c, false);
    expect(bits(h[1]).equals(bits(fresh[1]))).toBe(true);
    expect(h[1].dataSync().every((x) => Number.isFinite(x))).toBe(true);
    tf.dispose([...h, ...fresh, dy, dy2, a, b]);
  });

  it('leaks no tensor', () => {
    const c = cases[0];
    const ops = operands(c, 5);
    unified(ops, c, true).forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) tf.dispose(unified(ops, c, true));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ops.dy, ops.a, ops.b]);
  });

  it('rejects a keepDw that is not a boolean', () => {
    const c = cases[0];
    const ops = operands(c, 5);
    const attrs = { k: 3, transposeA: false, transposeB: false, denseW: true, withDx: true, keepDw: 1 };
    expect(() => tf.engine().runKernel('MePropUnifiedBackward', ops, attrs as unknown as tf.NamedAttrMap)).toThrow(
      /MePropUnifiedBackward: keepDw must be a boolean, got 1/,
    );
    tf.dispose([ops.dy, ops.a, ops.b]);
  });
});
