import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';
import { mePropMatMul, mePropMatMulGrads, NativeVariable } from '@meprop/core';

import { loadNativeOps } from './index';
import { runThreadBitsChild } from './test-helpers/thread_bits';
import { mlpKernelNames } from './mlp_kernels';
import type { LazyUpdateInPlaceAttrs } from './mlp_kernels';

// @meprop/layers: its cpu lazy-update kernel is the reference; its tensorflow kernels are replaced by the native
// ones when loadNativeOps() runs (or not registered at all if this package loaded first).
import { MePropLazyUpdate, mePropDense, sparseAdam } from '@meprop/layers';

// The native ops exist only for tfjs-node: this suite runs when MEPROP_TEST_BACKENDS includes tensorflow.
const run = testBackends().includes('tensorflow') ? describe : describe.skip;

const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

type Mode = 'per-example' | 'unified';

/** Brute force: the kept entries of dy as a 0/1 mask [M, N], by sorting (larger |v| first, NaN first, ties low index). */
function keptMask(dy: Float32Array, M: number, N: number, k: number, mode: Mode): Float32Array {
  const order = (score: number[]) =>
    score
      .map((s, j) => ({ s: Number.isNaN(s) ? Infinity : s, j }))
      .sort((p, q) => (q.s === p.s ? p.j - q.j : q.s - p.s))
      .slice(0, k)
      .map((e) => e.j);
  const mask = new Float32Array(M * N);
  if (mode === 'unified') {
    const score = Array.from({ length: N }, (_, j) => {
      let s = 0;
      for (let m = 0; m < M; m++) s += Math.abs(dy[m * N + j]);
      return s;
    });
    const cols = order(score);
    for (let m = 0; m < M; m++) for (const j of cols) mask[m * N + j] = 1;
    return mask;
  }
  for (let m = 0; m < M; m++) {
    const row = Array.from(dy.subarray(m * N, (m + 1) * N), (v) => Math.abs(v));
    for (const j of order(row)) mask[m * N + j] = 1;
  }
  return mask;
}

/** Plain tfjs gradients (tf.grads of tf.matMul) with dy masked to the kept entries: the brute-force reference. */
function reference(dy: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, k: number, mode: Mode, tA: boolean, tB: boolean) {
  const [M, N] = dy.shape;
  const mask = tf.tensor2d(keptMask(dy.dataSync() as Float32Array, M, N, k, mode), [M, N]);
  const used = tf.mul(dy, mask);
  const [da, db] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, tA, tB), used)))([a, b]);
  return { da, db, mask };
}

function operands(M: number, K: number, N: number, tA: boolean, tB: boolean, seed: number) {
  return {
    dy: tf.randomNormal([M, N], 0, 1, 'float32', seed) as tf.Tensor2D,
    a: tf.randomNormal(tA ? [K, M] : [M, K], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
    b: tf.randomNormal(tB ? [N, K] : [K, N], 0, 1, 'float32', seed + 2) as tf.Tensor2D,
  };
}

function expectNear(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const x = actual.dataSync();
  const y = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

const runKernel = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];

/** dW's kept slices as rows [k, K] from a dense gradient shaped like b. */
const slicesOf = (db: tf.Tensor, cols: number[], tB: boolean) =>
  tB ? tf.gather(db, cols, 0) : tf.transpose(tf.gather(db, cols, 1));

run('native MLP kernels [tensorflow]', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
    loadNativeOps(); // installs the native kernels (also when a single test is run)
  });

  afterEach(() => tf.disposeVariables());

  it('loads, and runs every MLP kernel on the native ops', () => {
    const status = loadNativeOps();
    expect(status.reason).toBeNull();
    for (const op of ['MePropMlpSelect', 'MePropMlpUnifiedBackward', 'MePropMlpSparseGradA', 'MePropMlpLazyUpdate'])
      expect(status.ops).toContain(op);
    expect([...status.kernels].sort()).toEqual(expect.arrayContaining([...mlpKernelNames].sort()));
  });

  describe.each([
    [1, 1, 3, 1],
    [3, 17, 16, 15],
    [7, 13, 29, 5],
    [33, 70, 130, 17],
  ])('M=%i K=%i N=%i k=%i', (M, K, N, k) => {
    it.each(TRANSPOSES)(
      'unified backward = brute force: kept columns, dense dW, slices, dx (transposeA=%p, transposeB=%p)',
      (tA, tB) => {
        tf.tidy(() => {
          const { dy, a, b } = operands(M, K, N, tA, tB, 3);
          const ref = reference(dy, a, b, k, 'unified', tA, tB);
          const cols = Array.from({ length: N }, (_, j) => j).filter((j) => ref.mask.dataSync()[j] === 1);
          for (const denseW of [true, false])
            for (const withDx of [true, false]) {
              const attrs = { k, transposeA: tA, transposeB: tB, denseW, withDx };
              const [idx, dW, third] = runKernel('MePropUnifiedBackward', { dy, a, b }, attrs) as tf.Tensor[];
              expect(Array.from(idx.dataSync())).toEqual(cols);
              expectNear(dW, denseW ? ref.db : slicesOf(ref.db, cols, tB));
              if (withDx) expectNear(third, ref.da);
              else {
                expectNear(third, tf.gather(dy, cols, 1), 0);
                const dx = runKernel(
                  'MePropGatherMatMul',
                  { values: third, indices: idx, b },
                  { transposeA: tA, transposeB: tB },
                );
                expectNear(dx as tf.Tensor, ref.da);
              }
            }
        });
      },
    );

    it.each(TRANSPOSES)(
      'per-example backward in one kernel = brute force: kept entries, dW, dx or the values for a later dx (transposeA=%p, transposeB=%p)',
      (tA, tB) => {
        tf.tidy(() => {
          const { dy, a, b } = operands(M, K, N, tA, tB, 13);
          const ref = reference(dy, a, b, k, 'per-example', tA, tB);
          for (const withDx of [true, false]) {
            const attrs = { k, transposeA: tA, transposeB: tB, withDx };
            const [indices, dW, third] = runKernel('MePropPerExampleBackward', { dy, a, b }, attrs) as tf.Tensor[];
            expect(indices.shape).toEqual([M, k]);
            const ix = indices.dataSync();
            const mask = new Float32Array(M * N);
            for (let m = 0; m < M; m++) {
              for (let t = 0; t < k; t++) mask[m * N + ix[m * k + t]] = 1;
              const row = Array.from(ix.subarray(m * k, (m + 1) * k));
              expect(row).toEqual([...row].sort((p, q) => p - q));
            }
            expect(Array.from(mask)).toEqual(Array.from(ref.mask.dataSync()));
            expectNear(dW, ref.db);
            if (withDx) expectNear(third, ref.da);
            else {
              const dyv = dy.dataSync();
              expect(Array.from(third.dataSync())).toEqual(Array.from(ix, (j, e) => dyv[Math.floor(e / k) * N + j]));
              const ga = { transposeA: tA, transposeB: tB, M, K, N, shared: false };
              expectNear(runKernel('MePropSparseGradA', { indices, values: third, b }, ga) as tf.Tensor, ref.da);
            }
          }
        });
      },
    );

    it.each(TRANSPOSES)(
      'per-example and unified selection and products = brute force (transposeA=%p, transposeB=%p)',
      (tA, tB) => {
        tf.tidy(() => {
          const { dy, a, b } = operands(M, K, N, tA, tB, 11);
          for (const mode of ['per-example', 'unified'] as Mode[]) {
            const ref = reference(dy, a, b, k, mode, tA, tB);
            const [indices, values] = runKernel('MePropSelect', { dy }, { k, mode, seed: 0 }) as tf.Tensor[];
            const ix = indices.dataSync();
            const mask = new Float32Array(M * N);
            for (let m = 0; m < M; m++) {
              for (let t = 0; t < k; t++) mask[m * N + ix[m * k + t]] = 1;
              const row = Array.from(ix.subarray(m * k, (m + 1) * k));
              expect(row).toEqual([...row].sort((p, q) => p - q)); // ascending within each row
            }
            expect(Array.from(mask)).toEqual(Array.from(ref.mask.dataSync()));
            expectNear(
              values,
              tf.gatherND(
                dy,
                tf.stack(
                  [
                    tf.tensor2d(
                      Array.from({ length: M * k }, (_, e) => Math.floor(e / k)),
                      [M, k],
                      'int32',
                    ),
                    indices,
                  ],
                  2,
                ),
              ),
              0,
            );
            const attrs = { transposeA: tA, transposeB: tB, M, K, N, shared: false };
            expectNear(runKernel('MePropSparseGradA', { indices, values, b }, attrs) as tf.Tensor, ref.da);
            expectNear(runKernel('MePropSparseGradB', { indices, values, a }, attrs) as tf.Tensor, ref.db);
            if (mode === 'unified') {
              // Shared indices [k] (one row of the table) give the same products.
              const shared = tf.slice(indices, [0, 0], [1, k]).reshape([k]);
              const sa = { ...attrs, shared: true };
              expectNear(runKernel('MePropSparseGradA', { indices: shared, values, b }, sa) as tf.Tensor, ref.da);
              expectNear(runKernel('MePropSparseGradB', { indices: shared, values, a }, sa) as tf.Tensor, ref.db);
            }
          }
        });
      },
    );
  });

  it.each(TRANSPOSES)('at k = N the native ops give plain tfjs gradients (transposeA=%p, transposeB=%p)', (tA, tB) => {
    tf.tidy(() => {
      const [M, K, N] = [9, 12, 10];
      const { dy, a, b } = operands(M, K, N, tA, tB, 21);
      const [da, db] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, tA, tB), dy)))([a, b]);
      const [, dW, dx] = runKernel(
        'MePropUnifiedBackward',
        { dy, a, b },
        { k: N, transposeA: tA, transposeB: tB, denseW: true, withDx: true },
      ) as tf.Tensor[];
      expectNear(dW, db, 1e-5);
      expectNear(dx, da, 1e-5);
      const [, pW, pX] = runKernel(
        'MePropPerExampleBackward',
        { dy, a, b },
        { k: N, transposeA: tA, transposeB: tB, withDx: true },
      ) as tf.Tensor[];
      expectNear(pW, db, 1e-5);
      expectNear(pX, da, 1e-5);
      const [indices, values] = runKernel('MePropSelect', { dy }, { k: N, mode: 'per-example', seed: 0 }) as tf.Tensor[];
      const attrs = { transposeA: tA, transposeB: tB, M, K, N, shared: false };
      expectNear(runKernel('MePropSparseGradA', { indices, values, b }, attrs) as tf.Tensor, da, 1e-5);
      expectNear(runKernel('MePropSparseGradB', { indices, values, a }, attrs) as tf.Tensor, db, 1e-5);
    });
  });

  it('through @meprop/core (mePropMatMulGrads), every mode matches brute force; random mode still works', () => {
    tf.tidy(() => {
      const { dy, a, b } = operands(16, 24, 40, false, false, 31);
      for (const mode of ['per-example', 'unified'] as Mode[]) {
        const ref = reference(dy, a, b, 6, mode, false, false);
        const g = mePropMatMulGrads(dy, a, b, { k: 6, mode });
        expectNear(g.da, ref.da);
        expectNear(g.db, ref.db);
      }
      const r = mePropMatMulGrads(dy, a, b, { k: 6, mode: 'random', seed: 5 });
      expect(r.db.shape).toEqual([24, 40]);
      // Random mode keeps 6 entries per row: dx is a combination of 6 columns of W per row, not all 40.
      expect(Number.isFinite(r.da.sum().dataSync()[0])).toBe(true);
    });
  });

  // The unified op splits dW and dx over the pool's threads above a size (and always with threads >= 2, when the
  // pool has a helper, i.e. unless MEPROP_NATIVE_THREADS=1): along K (in column tiles of 64, the last one partial
  // at K = 200) for a Dense layer's layout, as two parts for transposed ones. The same bits as one thread, and
  // brute force. 16x2048x1024 (transposeA) nests the parts' own row splits (W's columns, the dense fill) in the
  // two-part region: they must run inline there, not wait for the pool (a deadlock).
  it.each([
    [128, 1024, 1024, 32, false, false],
    [33, 200, 130, 17, false, false],
    [33, 70, 130, 17, true, false],
    [33, 70, 130, 17, false, true],
    [16, 2048, 1024, 8, true, false],
  ])(
    'unified backward M=%i K=%i N=%i k=%i (transposeA=%p, transposeB=%p): two threads = one thread to the bit = brute force',
    (M, K, N, k, tA, tB) => {
      tf.tidy(() => {
        const { dy, a, b } = operands(M, K, N, tA, tB, 41);
        const ref = reference(dy, a, b, k, 'unified', tA, tB);
        const cols = Array.from({ length: N }, (_, j) => j).filter((j) => ref.mask.dataSync()[j] === 1);
        for (const denseW of [true, false])
          for (const withDx of [true, false]) {
            const outs = [1, 2, 0].map(
              (threads) =>
                runKernel(
                  'MePropUnifiedBackward',
                  { dy, a, b },
                  { k, transposeA: tA, transposeB: tB, denseW, withDx, threads },
                ) as tf.Tensor[],
            );
            const bytes = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array | Int32Array).buffer);
            for (const other of outs.slice(1))
              for (let i = 0; i < 3; i++) expect(bytes(other[i]).equals(bytes(outs[0][i]))).toBe(true);
            const [idx, dW, third] = outs[1];
            expect(Array.from(idx.dataSync())).toEqual(cols);
            expectNear(dW, denseW ? ref.db : slicesOf(ref.db, cols, tB));
            expectNear(third, withDx ? ref.da : tf.gather(dy, cols, 1), withDx ? 1e-4 : 0);
          }
      });
    },
  );

  // The per-example op splits its selection (by rows, from 128 rows of 1024) and its products (by blocks of W's
  // rows) over the pool by size; threads = 1 runs all of it on one thread. Same bits, and brute force.
  it.each(TRANSPOSES)(
    'per-example backward 128x1024x1024 k=32 (transposeA=%p, transposeB=%p): pool = one thread to the bit = brute force',
    (tA, tB) => {
      tf.tidy(() => {
        const [M, K, N, k] = [128, 1024, 1024, 32];
        const { dy, a, b } = operands(M, K, N, tA, tB, 43);
        const ref = reference(dy, a, b, k, 'per-example', tA, tB);
        for (const withDx of [true, false]) {
          const outs = [1, 0].map(
            (threads) =>
              runKernel(
                'MePropPerExampleBackward',
                { dy, a, b },
                { k, transposeA: tA, transposeB: tB, withDx, threads },
              ) as tf.Tensor[],
          );
          const bytes = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array | Int32Array).buffer);
          for (let i = 0; i < 3; i++) expect(bytes(outs[1][i]).equals(bytes(outs[0][i]))).toBe(true);
          const [idx, dW, third] = outs[1];
          const mask = new Float32Array(M * N);
          const ix = idx.dataSync();
          for (let m = 0; m < M; m++) for (let t = 0; t < k; t++) mask[m * N + ix[m * k + t]] = 1;
          expect(Array.from(mask)).toEqual(Array.from(ref.mask.dataSync()));
          expectNear(dW, ref.db);
          if (withDx) expectNear(third, ref.da);
          else
            expectNear(
              third,
              tf.reshape(
                tf.gatherND(
                  dy,
                  tf.stack(
                    [tf.reshape(tf.tile(tf.range(0, M, 1, 'int32').reshape([M, 1]), [1, k]), [-1]), tf.reshape(idx, [-1])],
                    1,
                  ),
                ),
                [M, k],
              ),
              0,
            );
        }
      });
    },
  );

  it('gives the same bits on one, two and three threads (unified dense and slices, per-example, products from kept entries)', () => {
    // The pool's size is read from MEPROP_NATIVE_THREADS once per process: one child process per setting. Each
    // share of a split computes whole rows, blocks or column tiles, so the cut (and the thread count) must not
    // change any bit.
    const runWith = (threads: string): Record<string, string> => runThreadBitsChild('mlp_thread_bits.ts', threads);
    const one = runWith('1');
    const two = runWith('2');
    const three = runWith('3');
    // 2 layouts x (2 unified x 3 outputs + 3 per-example outputs + 2 products), and a kept dense dW's 3 outputs.
    expect(Object.keys(one)).toHaveLength(25);
    for (const key of Object.keys(one)) {
      expect([key, two[key] === one[key], three[key] === one[key]]).toEqual([key, true, true]);
    }
  });

  it('per-example through @meprop/core: one native call for selection and dW, dx only when asked for', () => {
    // Counts the native ops tfjs-node runs (a copy of the frozen binding with executeOp wrapped).
    type Binding = Record<string, unknown> & { executeOp: (name: string, ...rest: unknown[]) => unknown };
    const backend = tf.backend() as unknown as { binding: Binding };
    const original = backend.binding;
    const calls: string[] = [];
    const watched = {} as Binding;
    for (const key of Object.getOwnPropertyNames(original)) watched[key] = original[key];
    watched.executeOp = (name: string, ...rest: unknown[]) => {
      if (name.startsWith('MePropMlp')) calls.push(name);
      return original.executeOp(name, ...rest);
    };
    const { dy, a, b } = operands(16, 24, 40, false, false, 41);
    const ref = tf.tidy(() => {
      const r = reference(dy, a, b, 6, 'per-example', false, false);
      return [r.da, r.db];
    });
    const x = tf.variable(a, true, 'h43x');
    const w = tf.variable(b, true, 'h43w');
    const loss = (): tf.Scalar => tf.sum(tf.mul(mePropMatMul(x, w, { k: 6, mode: 'per-example' }), dy));
    const before = tf.memory().numTensors;
    backend.binding = watched;
    try {
      // A first layer: only w needs a gradient, so dx is never computed.
      const onlyW = tf.variableGrads(loss, [w]);
      expect(calls).toEqual(['MePropMlpPerExampleBackward']);
      expectNear(onlyW.grads[w.name], ref[1]);
      tf.dispose([onlyW.value, ...Object.values(onlyW.grads)]);
      calls.length = 0;
      const both = tf.variableGrads(loss, [x, w]);
      expect(calls).toEqual(['MePropMlpPerExampleBackward', 'MePropMlpSparseGradA']);
      expectNear(both.grads[x.name], ref[0]);
      expectNear(both.grads[w.name], ref[1]);
      tf.dispose([both.value, ...Object.values(both.grads)]);
    } finally {
      backend.binding = original;
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([dy, a, b, x, w, ...ref]);
  });

  it('NaN in dy is kept and propagates; ties go to the lower index', () => {
    tf.tidy(() => {
      const dy = tf.tensor2d([
        [1, NaN, 1, 0.5],
        [1, 0, 1, 0.5],
      ]);
      const [idx, values] = runKernel('MePropSelect', { dy }, { k: 2, mode: 'per-example', seed: 0 }) as tf.Tensor[];
      expect(Array.from(idx.dataSync())).toEqual([0, 1, 0, 2]);
      expect(Array.from(values.dataSync())).toEqual([1, NaN, 1, 1]);
      const [cols] = runKernel('MePropSelectColumns', { dy }, { k: 2 }) as tf.Tensor[];
      expect(Array.from(cols.dataSync())).toEqual([0, 1]);
    });
  });

  it('many ties and NaN in wide rows: the same kept entries as brute force (lower index first)', () => {
    tf.tidy(() => {
      const [M, N] = [6, 150];
      // Small integers (ties everywhere), a NaN in rows 1 and 4 past the first 16 columns, -0 and 0.
      const v = Array.from({ length: M * N }, (_, e) => ((e * 7919) % 5) - 2 + (e % 11 === 0 ? -0 : 0));
      v[1 * N + 77] = NaN;
      v[4 * N + 140] = NaN;
      const dy = tf.tensor2d(v, [M, N]);
      for (const k of [1, 9, 33]) {
        for (const mode of ['per-example', 'unified'] as Mode[]) {
          const [indices] = runKernel('MePropSelect', { dy }, { k, mode, seed: 0 }) as tf.Tensor[];
          const ix = indices.dataSync();
          const mask = new Float32Array(M * N);
          for (let m = 0; m < M; m++) for (let t = 0; t < k; t++) mask[m * N + ix[m * k + t]] = 1;
          expect(Array.from(mask)).toEqual(Array.from(keptMask(dy.dataSync() as Float32Array, M, N, k, mode)));
        }
      }
    });
  });

  it('rows of 1024 (the selection thresholds before its radix select): same kept entries as brute force', () => {
    tf.tidy(() => {
      const N = 1024;
      // Row 0 random, 1 ascending (every group maximum at its end: no candidate is dropped), 2 descending,
      // 3 constant (all ties), 4 random with NaN, Infinity and -Infinity, 5 random with the largest values in
      // one group, 6 ties in the candidates (values rounded to a few levels).
      const rows: number[][] = [];
      let s = 12345;
      const rnd = (): number => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648 - 0.5;
      };
      rows.push(Array.from({ length: N }, rnd));
      rows.push(Array.from({ length: N }, (_, j) => j / N));
      rows.push(Array.from({ length: N }, (_, j) => -(N - j) / N));
      rows.push(Array.from({ length: N }, () => 0.25));
      const special = Array.from({ length: N }, rnd);
      [special[3], special[500], special[1000]] = [NaN, Infinity, -Infinity];
      rows.push(special);
      rows.push(Array.from({ length: N }, (_, j) => (j >= 600 && j < 640 ? 10 + j : rnd())));
      rows.push(Array.from({ length: N }, () => Math.round(rnd() * 8) / 8));
      const M = rows.length;
      const dy = tf.tensor2d(rows.flat(), [M, N]);
      for (const k of [1, 20, 32, 100, 256, 257]) {
        for (const mode of ['per-example', 'unified'] as Mode[]) {
          const [indices] = runKernel('MePropSelect', { dy }, { k, mode, seed: 0 }) as tf.Tensor[];
          const ix = indices.dataSync();
          const mask = new Float32Array(M * N);
          for (let m = 0; m < M; m++) for (let t = 0; t < k; t++) mask[m * N + ix[m * k + t]] = 1;
          expect(Array.from(mask)).toEqual(Array.from(keptMask(dy.dataSync() as Float32Array, M, N, k, mode)));
          for (let m = 0; m < M; m++) for (let t = 1; t < k; t++) expect(ix[m * k + t]).toBeGreaterThan(ix[m * k + t - 1]); // ascending
        }
      }
    });
  });

  it('relu gradient from the output equals tfjs relu gradient, NaN, -0 and Infinity included', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([-2, -0, 0, 1e-30, 3, NaN, Infinity, -Infinity]);
      const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, Infinity, 8]);
      const expected = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
      const got = runKernel('MePropReluGradFromOutput', { dy, y: tf.relu(x) }, {}) as tf.Tensor;
      expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
      expect(() => runKernel('MePropReluGradFromOutput', { dy, y: tf.zeros([3]) }, {})).toThrow(/same shape/);
    });
  });

  describe('lazy update from slices = the cpu kernel, to the bit', () => {
    const RULES = [
      { rule: 'adam' as const, slots: 2 },
      { rule: 'adagrad' as const, slots: 1 },
      { rule: 'sgd' as const, slots: 0 },
    ];
    const params = (step: number) => ({
      learningRate: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      correction1: 1 - 0.9 ** step,
      correction2: 1 - 0.999 ** step,
    });

    /** Deterministic values in [-1, 1) (a small LCG): the same numbers on both backends, made in this realm. */
    const values = (n: number, seed: number, scale = 1) => {
      let x = seed >>> 0;
      return Array.from({ length: n }, () => {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        return Math.fround((x / 2 ** 32 - 0.5) * 2 * scale);
      });
    };
    /** [rows, cols] row-major values transposed. */
    const transpose = (v: number[], rows: number, cols: number) =>
      Array.from({ length: rows * cols }, (_, e) => v[(e % rows) * cols + Math.floor(e / rows)]);

    it.each([0, 1] as const)('adam, adagrad and sgd along axis %i, with a repeated index and an all-zero slice', async (axis) => {
      const [R, C] = [6, 9];
      // The cpu reference problem is [P, Q] with the slices as its columns: the weight itself for axis 1, its
      // transpose for axis 0 (the cpu kernel skips all-zero columns, the sparse step all-zero slices).
      const [P, Q] = axis === 1 ? [R, C] : [C, R];
      const toCpu = (v: number[]) => (axis === 1 ? v : transpose(v, R, C)); // [R, C] values -> [P, Q]
      const indices = axis === 0 ? [4, 1, 4, 2] : [7, 0, 3, 7, 5];
      const n = indices.length;
      for (const { rule, slots: nSlots } of RULES) {
        const w0 = values(R * C, 40);
        const s0 = Array.from({ length: nSlots }, (_, i) => values(R * C, 41 + i, 0.1).map(Math.abs));
        let cpuW = toCpu(w0);
        let cpuSlots = s0.map(toCpu);
        await tf.setBackend('tensorflow');
        // Slots as TensorFlow resource variables of rows [extent, P]: the cpu layout transposed.
        const native = s0.map((v) => new NativeVariable(tf.backend(), tf.tensor2d(transpose(toCpu(v), P, Q), [Q, P])));
        let tfW: tf.Tensor = tf.tensor2d(w0, [R, C]);
        try {
          for (let step = 1; step <= 3; step++) {
            // rows [n, P]; slice 2 is all zero at step 2 (skipped: weight and slots unchanged there).
            const rows = values(n * P, 60 + step).map((v, e) => (step === 2 && Math.floor(e / P) === 2 ? 0 : v));
            // The dense cpu gradient [P, Q]: slice t added into column indices[t].
            const dense = new Array<number>(P * Q).fill(0);
            indices.forEach((j, t) => {
              for (let r = 0; r < P; r++) dense[r * Q + j] += rows[t * P + r];
            });
            const attrs = { rule, ...params(step), lazy: true };
            await tf.setBackend('cpu');
            const inputs: tf.NamedTensorMap = { value: tf.tensor2d(cpuW, [P, Q]), grad: tf.tensor2d(dense, [P, Q]) };
            cpuSlots.forEach((v, i) => (inputs[`slot${i}`] = tf.tensor2d(v, [P, Q])));
            const outs = runKernel(MePropLazyUpdate, inputs, { ...attrs, rows: P, cols: Q }) as tf.Tensor[];
            [cpuW, ...cpuSlots] = outs.map((t) => Array.from(t.dataSync()));
            tf.dispose([...outs, ...Object.values(inputs)]);
            await tf.setBackend('tensorflow');
            const inPlace: LazyUpdateInPlaceAttrs = { ...attrs, rows: R, cols: C, axis, unique: false, slots: native };
            const ins = { value: tfW, indices: tf.tensor1d(indices, 'int32'), rows: tf.tensor2d(rows, [n, P]) };
            const [next] = runKernel('MePropSparseLazyUpdateInPlace', ins, inPlace) as tf.Tensor[];
            tf.dispose(Object.values(ins));
            tfW = next;
          }
          expect(Array.from(tfW.dataSync())).toEqual(axis === 1 ? cpuW : transpose(cpuW, P, Q));
          native.forEach((v, i) =>
            expect({ rule, slot: i, v: Array.from(v.readSync()) }).toEqual({ rule, slot: i, v: transpose(cpuSlots[i], P, Q) }),
          );
          // Not vacuous: the weight moved.
          expect(Math.max(...Array.from(tfW.dataSync(), (x, e) => Math.abs(x - w0[e])))).toBeGreaterThan(1e-3);
        } finally {
          await tf.setBackend('tensorflow');
          native.forEach((v) => v.dispose());
          tfW.dispose();
        }
      }
    });

    // The op returns a new weight and must never write a buffer somebody still holds (a guard for any in-place
    // scheme: one that reused the previous weight's buffer was tried on 2026-12-03, see the README): old values
    // are kept as clones and as views, one weight is replaced from outside, and two weights of different shapes
    // take turns, against plain JavaScript sgd (w - lr·g in float64, rounded to float32, as the op computes it).
    it.each([0, 1] as const)(
      'along axis %i, no tensor anybody still holds changes: kept old values, views, a reassigned weight, two weights in turn',
      (axis) => {
        const lr = 0.01;
        const shapes: Array<[number, number]> = [
          [6, 9],
          [5, 7],
        ];
        const ref = shapes.map(([R, C], i) => values(R * C, 80 + i));
        const cur: tf.Tensor[] = shapes.map(([R, C], i) => tf.tensor2d(ref[i], [R, C]));
        const held: Array<{ t: tf.Tensor; expected: number[] }> = [];
        const startTensors = tf.memory().numTensors;
        for (let step = 0; step < 12; step++) {
          const w = step % 2;
          const [R, C] = shapes[w];
          const extent = axis === 0 ? R : C;
          const L = axis === 0 ? C : R;
          // Two distinct indices per step, changing from step to step.
          const indices = [
            step % extent,
            (step * 3 + 1) % extent === step % extent ? (step + 1) % extent : (step * 3 + 1) % extent,
          ];
          const rows = values(2 * L, 90 + step);
          // Keep the old value of weight 0 at step 4 (a clone: the same tensor) and a view of weight 1 at step 7.
          if (step === 4) held.push({ t: tf.clone(cur[w]), expected: [...ref[w]] });
          if (step === 7) held.push({ t: tf.reshape(cur[w], [R * C]), expected: [...ref[w]] });
          // Step 8 replaces weight 0 from outside the optimizer (a weight the kernel never produced).
          if (step === 8) {
            ref[w] = values(R * C, 99);
            cur[w].dispose();
            cur[w] = tf.tensor2d(ref[w], [R, C]);
          }
          const ins = { value: cur[w], indices: tf.tensor1d(indices, 'int32'), rows: tf.tensor2d(rows, [2, L]) };
          const attrs = { rule: 'sgd', ...params(1), rows: R, cols: C, lazy: true, axis, unique: true, slots: [] };
          const [next] = runKernel('MePropSparseLazyUpdateInPlace', ins, attrs) as tf.Tensor[];
          tf.dispose(Object.values(ins));
          cur[w] = next;
          indices.forEach((j, t) => {
            for (let l = 0; l < L; l++) {
              const e = axis === 0 ? j * C + l : l * C + j;
              ref[w][e] = Math.fround(ref[w][e] - lr * rows[t * L + l]);
            }
          });
          // Every weight and every kept value is exactly what it should be after every step.
          cur.forEach((t, i) => expect({ step, i, v: Array.from(t.dataSync()) }).toEqual({ step, i, v: ref[i] }));
          held.forEach((h, i) =>
            expect({ step, held: i, v: Array.from(h.t.dataSync()) }).toEqual({ step, held: i, v: h.expected }),
          );
        }
        // Not vacuous: the kept values differ from today's weights.
        expect(held[0].expected).not.toEqual(ref[0]);
        expect(held[1].expected).not.toEqual(ref[1]);
        expect(tf.memory().numTensors).toBe(startTensors + held.length);
        tf.dispose([...cur, ...held.map((h) => h.t)]);
      },
    );

    it.each([
      ['[6, 9], lazy, with an all-zero column and a NaN', [6, 9], true],
      ['[7] (a bias: every entry)', [7], false],
    ] as const)('MePropLazyUpdate (dense gradient) = the cpu kernel, to the bit, 3 steps: %s', async (_, shape, lazy) => {
      const size = shape.reduce((p, q) => p * q, 1);
      const [rows, cols] = shape.length === 2 ? shape : [1, size];
      for (const { rule, slots: nSlots } of RULES) {
        const w0 = values(size, 20);
        const s0 = Array.from({ length: nSlots }, (_, i) => values(size, 21 + i, 0.1).map(Math.abs));
        const grads = [1, 2, 3].map((step) =>
          values(size, 30 + step).map((v, e) => (lazy && e % cols === 2 ? 0 : step === 2 && e === 4 ? NaN : v)),
        );
        const run = async (backend: 'cpu' | 'tensorflow') => {
          await tf.setBackend(backend);
          let w = Array.from(w0);
          let slots = s0.map((v) => Array.from(v));
          for (let step = 1; step <= 3; step++) {
            const inputs: tf.NamedTensorMap = { value: tf.tensor(w, [...shape]), grad: tf.tensor(grads[step - 1], [...shape]) };
            slots.forEach((v, i) => (inputs[`slot${i}`] = tf.tensor(v, [...shape])));
            const outs = runKernel(MePropLazyUpdate, inputs, { rule, ...params(step), rows, cols, lazy }) as tf.Tensor[];
            expect(outs.map((t) => t.shape)).toEqual(Array(1 + nSlots).fill([...shape]));
            [w, ...slots] = outs.map((t) => Array.from(t.dataSync()));
            tf.dispose([...outs, ...Object.values(inputs)]);
          }
          return { w, slots };
        };
        const cpu = await run('cpu');
        const native = await run('tensorflow');
        expect({ rule, ...native }).toEqual({ rule, ...cpu });
        // Not vacuous: the weight moved, NaN reached it (step 2), and with lazy the all-zero column did not move.
        expect(cpu.w.some((x, e) => Number.isFinite(x) && Math.abs(x - w0[e]) > 1e-4)).toBe(true);
        expect(Number.isNaN(cpu.w[4])).toBe(true);
        if (lazy) expect(cpu.w[2]).toBe(w0[2]);
      }
      expect(tf.getKernel(MePropLazyUpdate, 'tensorflow')).toBeDefined();
    });

    it('rejects bad input with the argument and value named', () => {
      tf.tidy(() => {
        const value = tf.zeros([4, 3]);
        const rows = tf.ones([2, 3]);
        const base = { rule: 'sgd', ...params(1), rows: 4, cols: 3, lazy: true, axis: 0, unique: true, slots: [] };
        expect(() =>
          runKernel('MePropSparseLazyUpdateInPlace', { value, indices: tf.tensor1d([0, 4], 'int32'), rows }, base),
        ).toThrow(/indices\[1\] = 4 is outside \[0, 4\)/);
        expect(() =>
          runKernel('MePropSparseLazyUpdateInPlace', { value, indices: tf.tensor1d([1, 1], 'int32'), rows }, base),
        ).toThrow(/indices repeat 1/);
        expect(() =>
          runKernel(
            'MePropSparseLazyUpdateInPlace',
            { value, indices: tf.tensor1d([0, 1], 'int32'), rows },
            { ...base, rule: 'adam' },
          ),
        ).toThrow(/rule 'adam' takes 2 slots, got 0/);
        expect(() =>
          runKernel(
            'MePropSparseLazyUpdateInPlace',
            { value, indices: tf.tensor1d([0, 1], 'int32'), rows: tf.ones([2, 4]) },
            base,
          ),
        ).toThrow(/rows \[2, 4\] must be \[2, 3\]/);
      });
    });
  });

  it('rejects bad input to the backward kernels with the argument and value named', () => {
    tf.tidy(() => {
      const dy = tf.ones([3, 5]);
      const unifiedAttrs = { k: 2, transposeA: false, transposeB: false, denseW: true, withDx: true };
      for (const threads of [-1, 1.5])
        expect(() =>
          runKernel('MePropUnifiedBackward', { dy, a: tf.ones([3, 2]), b: tf.ones([2, 5]) }, { ...unifiedAttrs, threads }),
        ).toThrow(new RegExp(`threads must be an integer >= 0 .*got ${threads}`));
      for (const threads of [-1, 1.5])
        expect(() =>
          runKernel(
            'MePropPerExampleBackward',
            { dy, a: tf.ones([3, 2]), b: tf.ones([2, 5]) },
            { k: 2, transposeA: false, transposeB: false, withDx: true, threads },
          ),
        ).toThrow(new RegExp(`MePropPerExampleBackward: threads must be an integer >= 0 .*got ${threads}`));
      expect(() => runKernel('MePropSelect', { dy }, { k: 6, mode: 'per-example', seed: 0 })).toThrow(
        /k must be an integer in \[1, 5\].*got 6/,
      );
      expect(() => runKernel('MePropSelect', { dy }, { k: 2, mode: 'top', seed: 0 })).toThrow(/mode must be .*got 'top'/);
      expect(() => runKernel('MePropSelectColumns', { dy: tf.ones([5]) }, { k: 2 })).toThrow(
        /dy must be a 2-D float32 tensor, got float32 \[5\]/,
      );
      const a = tf.ones([4, 2]);
      const b = tf.ones([2, 5]);
      expect(() =>
        runKernel(
          'MePropUnifiedBackward',
          { dy, a, b },
          { k: 2, transposeA: false, transposeB: false, denseW: true, withDx: true },
        ),
      ).toThrow(/a \[4, 2\] does not match dy's 3 rows/);
      const perExample = (inputs: tf.NamedTensorMap, k: number) =>
        runKernel('MePropPerExampleBackward', inputs, { k, transposeA: false, transposeB: false, withDx: false });
      expect(() => perExample({ dy, a, b }, 2)).toThrow(/MePropMlpPerExampleBackward: a \[4, 2\] does not match dy's 3 rows/);
      expect(() => perExample({ dy, a: tf.ones([3, 2]), b: tf.ones([2, 4]) }, 2)).toThrow(
        /b \[2, 4\] does not match K = 2, N = 5/,
      );
      expect(() => perExample({ dy, a: tf.ones([3, 2]), b }, 0)).toThrow(
        /MePropPerExampleBackward: k must be an integer in \[1, 5\].*got 0/,
      );
      const values = tf.ones([3, 2]);
      const attrs = { transposeA: false, transposeB: false, M: 3, K: 2, N: 5, shared: false };
      expect(() =>
        runKernel(
          'MePropSparseGradA',
          {
            indices: tf.tensor2d(
              [
                [0, 5],
                [0, 1],
                [0, 1],
              ],
              [3, 2],
              'int32',
            ),
            values,
            b,
          },
          attrs,
        ),
      ).toThrow(/indices\[1\] = 5 is outside \[0, 5\)/);
      expect(() =>
        runKernel('MePropSparseGradB', { indices: tf.ones([3, 3], 'int32'), values, a: tf.ones([3, 2]) }, attrs),
      ).toThrow(/indices \[3, 3\] must be \[M, k\] or \[k\] for values \[3, 2\]/);
      expect(() => runKernel('MePropGatherMatMul', { values, indices: tf.tensor1d([0, 9], 'int32'), b }, attrs)).toThrow(
        /indices\[1\] = 9 is outside \[0, 5\)/,
      );
    });
  });

  it("@meprop/core's and @meprop/layers' own paths run the native ops (a kernel renamed there fails here)", async () => {
    // Every op tfjs-node runs goes through backend.binding.executeOp (a frozen native object): watch it through
    // a copy of the binding with that one function wrapped.
    type Binding = Record<string, unknown> & { executeOp: (name: string, ...rest: unknown[]) => unknown };
    const backend = tf.backend() as unknown as { binding: Binding };
    const original = backend.binding;
    const seen = new Set<string>();
    const watched = {} as Binding;
    for (const key of Object.getOwnPropertyNames(original)) watched[key] = original[key];
    watched.executeOp = (name: string, ...rest: unknown[]) => {
      seen.add(name);
      return original.executeOp(name, ...rest);
    };
    backend.binding = watched;
    try {
      tf.tidy(() => {
        const { dy, a, b } = operands(8, 10, 12, false, false, 5);
        mePropMatMulGrads(dy, a, b, { k: 3, mode: 'per-example' });
        mePropMatMulGrads(dy, a, b, { k: 3, mode: 'unified' });
        mePropMatMulGrads(dy, a, b, { k: 3, mode: 'random', seed: 1 }); // host indices: the two product ops
      });
      const model = tf.sequential({
        layers: [
          mePropDense({ inputShape: [6], units: 12, activation: 'relu', k: 3, mode: 'unified' }),
          mePropDense({ units: 4, k: 2, mode: 'unified' }),
        ],
      });
      model.compile({ optimizer: sparseAdam(0.01), loss: 'meanSquaredError' });
      const x = tf.randomNormal([5, 6], 0, 1, 'float32', 1);
      const y = tf.randomNormal([5, 4], 0, 1, 'float32', 2);
      await model.fit(x, y, { epochs: 2, batchSize: 5, verbose: 0 });
      tf.dispose([x, y]);
      model.optimizer.dispose();
    } finally {
      backend.binding = original;
    }
    for (const op of [
      'MePropMlpPerExampleBackward',
      'MePropMlpSparseGradA',
      'MePropMlpSparseGradB',
      'MePropMlpUnifiedBackward',
      'MePropMlpReluGrad',
      'MePropMlpLazyUpdate',
    ])
      expect(seen).toContain(op);
  });

  it('leaks no tensor: kernels, and training steps with sparseAdam through minimize', () => {
    const { dy, a, b } = operands(8, 10, 12, false, false, 7);
    const once = () =>
      tf.tidy(() => {
        runKernel(
          'MePropUnifiedBackward',
          { dy, a, b },
          { k: 3, transposeA: false, transposeB: false, denseW: false, withDx: true },
        );
        runKernel('MePropPerExampleBackward', { dy, a, b }, { k: 3, transposeA: false, transposeB: false, withDx: true });
        runKernel('MePropPerExampleBackward', { dy, a, b }, { k: 3, transposeA: false, transposeB: false, withDx: false });
        const [indices, values] = runKernel('MePropSelect', { dy }, { k: 3, mode: 'per-example', seed: 0 }) as tf.Tensor[];
        runKernel(
          'MePropSparseGradA',
          { indices, values, b },
          { transposeA: false, transposeB: false, M: 8, K: 10, N: 12, shared: false },
        );
        runKernel(
          'MePropSparseGradB',
          { indices, values, a },
          { transposeA: false, transposeB: false, M: 8, K: 10, N: 12, shared: false },
        );
      });
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) once();
    expect(tf.memory().numTensors).toBe(before);

    const w = tf.variable(tf.randomNormal([10, 12], 0, 0.3, 'float32', 8));
    const w0 = w.clone();
    const opt = sparseAdam(0.01);
    const step = () => opt.minimize(() => tf.sum(tf.square(mePropMatMul(a, w, { k: 3, mode: 'unified' }))), false, [w]);
    step();
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(after1);
    // The weight moved in 3 columns per step at most, and the clone taken before training did not move with it.
    const moved = tf.tidy(() => tf.sum(tf.cast(tf.greater(tf.sum(tf.abs(tf.sub(w, w0)), 0), 0), 'int32')).dataSync()[0]);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(12);
    opt.dispose();
    tf.dispose([dy, a, b, w0]);
  });
});
