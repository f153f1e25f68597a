import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import { hasMePropKernels, mePropMatMul, mePropMatMulGrads, mePropMatMulSliceGrads, MePropConfig } from './index';
import { nonZeroColumns, operands, plainGrads, referenceGrads } from './test-helpers/reference';

const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Gradients of sum(mePropMatMul(a, b) * dy) through tfjs's autodiff. */
function mePropGrads(a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor, config: MePropConfig, tA: boolean, tB: boolean): tf.Tensor[] {
  return tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(mePropMatMul(x, w, config, tA, tB), dy)))([a, b]);
}

describeEachBackend('mePropMatMul', () => {
  it.each(TRANSPOSES)('forward equals tf.matMul (transposeA=%p, transposeB=%p)', (tA, tB) => {
    tf.tidy(() => {
      const { a, b } = operands(7, 13, 29, tA, tB, 1);
      expectClose(mePropMatMul(a, b, { k: 5 }, tA, tB), tf.matMul(a, b, tA, tB), 1e-6);
    });
  });

  it.each(TRANSPOSES)('k >= dimension gives the exact gradients (transposeA=%p, transposeB=%p)', (tA, tB) => {
    tf.tidy(() => {
      const { a, b, dy } = operands(7, 13, 29, tA, tB, 2);
      const [ga, gb] = plainGrads(a, b, dy, tA, tB);
      for (const mode of ['per-example', 'unified', 'random', 'per-sample'] as const) {
        const [ma, mb] = mePropGrads(a, b, dy, { k: 29, mode }, tA, tB);
        expectClose(ma, ga, 1e-5);
        expectClose(mb, gb, 1e-5);
      }
    });
  });

  it.each(TRANSPOSES)(
    'per-sample mode is per-example on a matmul (a row is one example) (transposeA=%p, transposeB=%p)',
    (tA, tB) => {
      tf.tidy(() => {
        const { a, b, dy } = operands(7, 13, 29, tA, tB, 3);
        const [ra, rb] = referenceGrads(a, b, dy, 5, 'per-example', tA, tB);
        const [ma, mb] = mePropGrads(a, b, dy, { k: 5, mode: 'per-sample' }, tA, tB);
        expectClose(ma, ra, 1e-4);
        expectClose(mb, rb, 1e-4);
      });
    },
  );

  describe.each(['per-example', 'unified'] as const)('%s mode, odd shapes 7x13 @ 13x29, k=5', (mode) => {
    it.each(TRANSPOSES)('equals the brute-force reference (transposeA=%p, transposeB=%p)', (tA, tB) => {
      tf.tidy(() => {
        const { a, b, dy } = operands(7, 13, 29, tA, tB, 3);
        const [ra, rb] = referenceGrads(a, b, dy, 5, mode, tA, tB);
        const [ma, mb] = mePropGrads(a, b, dy, { k: 5, mode }, tA, tB);
        expectClose(ma, ra, 1e-5);
        expectClose(mb, rb, 1e-5);
        // The reference differs from the exact gradient, so the comparison above is not vacuous.
        const [ea] = plainGrads(a, b, dy, tA, tB);
        expect(tf.max(tf.abs(tf.sub(ea, ra))).dataSync()[0]).toBeGreaterThan(1e-2);
      });
    });

    it('accepts k as a fraction of the output dimension', () => {
      tf.tidy(() => {
        const { a, b, dy } = operands(7, 13, 29, false, false, 4);
        const [ra, rb] = referenceGrads(a, b, dy, 6, mode, false, false); // round(0.2 * 29) = 6
        const [ma, mb] = mePropGrads(a, b, dy, { k: 0.2, mode }, false, false);
        expectClose(ma, ra, 1e-5);
        expectClose(mb, rb, 1e-5);
      });
    });
  });

  it('unified mode gives the weight gradient exactly k non-zero columns', () => {
    tf.tidy(() => {
      const { a, b, dy } = operands(16, 13, 29, false, false, 5);
      const [, gb] = mePropGrads(a, b, dy, { k: 5, mode: 'unified' }, false, false);
      expect(nonZeroColumns(gb)).toBe(5);
    });
  });

  it('random mode keeps k entries of each row of dy (checked one example at a time)', () => {
    tf.tidy(() => {
      const config: MePropConfig = { k: 4, mode: 'random', seed: 9 };
      const seen = new Set<number>();
      for (let step = 0; step < 20; step++) {
        const { a, b, dy } = operands(1, 13, 29, false, false, 10 + step);
        const [ga, gb] = mePropGrads(a, b, dy, config, false, false);
        // dW = x^T dy_kept: with x dense, the kept columns are exactly the non-zero columns of dW.
        const gbv = gb.arraySync() as number[][];
        const cols = gbv[0].map((_, j) => j).filter((j) => gbv.some((row) => row[j] !== 0));
        expect(cols.length).toBe(4);
        cols.forEach((j) => seen.add(j));
        const mask = tf.tensor2d([Array.from({ length: 29 }, (_, j) => (cols.includes(j) ? 1 : 0))]);
        const [ra, rb] = plainGrads(a, b, tf.mul(dy, mask), false, false);
        expectClose(ga, ra, 1e-5);
        expectClose(gb, rb, 1e-5);
      }
      expect(seen.size).toBeGreaterThan(20); // different columns on different steps
    });
  });

  it('handles rank-3 inputs with a shared weight (Dense with 3-D inputs) per row', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([2, 5, 13], 0, 1, 'float32', 20);
      const b = tf.randomNormal([13, 29], 0, 1, 'float32', 21);
      const dy = tf.randomNormal([2, 5, 29], 0, 1, 'float32', 22);
      const [ma, mb] = mePropGrads(a, b, dy, { k: 5 }, false, false);
      const [ra, rb] = referenceGrads(
        tf.reshape(a, [10, 13]),
        b as tf.Tensor2D,
        tf.reshape(dy, [10, 29]),
        5,
        'per-example',
        false,
        false,
      );
      expectClose(ma, tf.reshape(ra, [2, 5, 13]), 1e-5);
      expectClose(mb, rb, 1e-5);
    });
  });

  it('handles a batch of matrices (rank 3 on both sides)', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([3, 6, 13], 0, 1, 'float32', 30);
      const b = tf.randomNormal([3, 13, 11], 0, 1, 'float32', 31);
      const dy = tf.randomNormal([3, 6, 11], 0, 1, 'float32', 32);
      const [ma, mb] = mePropGrads(a, b, dy, { k: 3 }, false, false);
      for (let i = 0; i < 3; i++) {
        const pick = (t: tf.Tensor) => tf.squeeze(tf.slice(t, [i, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
        const [ra, rb] = referenceGrads(pick(a), pick(b), pick(dy), 3, 'per-example', false, false);
        expectClose(pick(ma), ra, 1e-5);
        expectClose(pick(mb), rb, 1e-5);
      }
    });
  });

  it('accepts a float32 operand cast from bool or int32 (cpu shares the source storage)', () => {
    tf.tidy(() => {
      const b = tf.randomNormal([13, 29], 0, 1, 'float32', 70);
      const dy = tf.randomNormal([6, 29], 0, 1, 'float32', 71);
      const mask = tf.less(tf.randomUniform([6, 13], 0, 1, 'float32', 72), 0.3);
      for (const a of [tf.cast(mask, 'float32'), tf.cast(tf.cast(mask, 'int32'), 'float32')]) {
        for (const mode of ['per-example', 'unified'] as const) {
          const [ra, rb] = referenceGrads(a as tf.Tensor2D, b as tf.Tensor2D, dy as tf.Tensor2D, 4, mode, false, false);
          const [ma, mb] = mePropGrads(a, b, dy, { k: 4, mode }, false, false);
          expectClose(ma, ra, 1e-5);
          expectClose(mb, rb, 1e-5);
        }
      }
    });
  });

  it('propagates NaN in dy instead of crashing or hanging', () => {
    tf.tidy(() => {
      const { a, b } = operands(4, 6, 10, false, false, 40);
      const dyv = new Float32Array(40).fill(0.1);
      dyv[13] = NaN; // row 1, column 3
      const dy = tf.tensor2d(dyv, [4, 10]);
      for (const mode of ['per-example', 'unified'] as const) {
        const { da, db } = mePropMatMulGrads(dy, a, b, { k: 2, mode });
        const dav = da.arraySync() as number[][];
        expect(dav[1].every(Number.isNaN)).toBe(true);
        expect(dav[0].some(Number.isNaN)).toBe(mode === 'unified' ? false : false);
        const dbv = db.arraySync() as number[][];
        expect(dbv.every((row) => Number.isNaN(row[3]))).toBe(true);
      }
    });
  });

  it('keeps a NaN or an infinity in dy where it is: no other entry of dW becomes NaN', () => {
    tf.tidy(() => {
      for (const special of [NaN, Infinity, -Infinity]) {
        for (const transposeB of [false, true]) {
          const { a, b } = operands(4, 6, 10, false, transposeB, 60);
          const dyv = new Float32Array(40).fill(0.1);
          dyv[13] = special; // row 1, column 3
          const dy = tf.tensor2d(dyv, [4, 10]);
          for (const mode of ['per-example', 'unified'] as const) {
            const { db } = mePropMatMulGrads(dy, a, b, { k: 2, mode }, false, transposeB);
            // Every |dy| ties at 0.1 except the special entry, which ranks first: unified keeps columns 3 and 0
            // (ties to the lower index); per-example keeps 3 and 0 in row 1 and 0 and 1 in the other rows.
            const kept = mode === 'unified' ? [0, 3] : [0, 1, 3];
            const dbv = db.arraySync() as number[][];
            const col = (r: number, c: number) => (transposeB ? dbv[c][r] : dbv[r][c]);
            for (let r = 0; r < 6; r++) {
              for (let c = 0; c < 10; c++) {
                const v = col(r, c);
                const where = `special ${special}, ${mode}, transposeB ${transposeB}, dW[${r}][${c}] = ${v}`;
                if (c === 3) expect([where, Number.isFinite(v)]).toEqual([where, false]);
                else if (kept.includes(c)) expect([where, Number.isFinite(v)]).toEqual([where, true]);
                else expect([where, v]).toEqual([where, 0]);
              }
            }
          }
        }
      }
    });
  });

  it('does not leak tensors across training steps', async () => {
    const w1 = tf.variable(tf.randomNormal([13, 29], 0, 0.1, 'float32', 50));
    const w2 = tf.variable(tf.randomNormal([29, 3], 0, 0.1, 'float32', 51));
    const x = tf.randomNormal([8, 13], 0, 1, 'float32', 52);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    const opt = tf.train.adam(0.01);
    const config: MePropConfig = { k: 5, mode: 'per-example' };
    const { after1, afterN } = await tensorCountAfter(() => {
      opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, mePropMatMul(tf.relu(mePropMatMul(x, w1, config)), w2, { k: 2 })) as tf.Scalar,
      );
    }, 50);
    expect(afterN).toBe(after1);
    tf.dispose([w1, w2, x, y]);
    opt.dispose();
  });

  describe('mePropMatMulSliceGrads (dW kept as slices)', () => {
    it.each(TRANSPOSES)('slices scattered equal the dense meProp dW; da equal (transposeA=%p, transposeB=%p)', (tA, tB) => {
      tf.tidy(() => {
        const { a, b, dy } = operands(7, 13, 29, tA, tB, 70);
        const dense = mePropMatMulGrads(dy, a, b, { k: 5, mode: 'unified' }, tA, tB);
        const before = tf.memory().numTensors;
        const { da, db } = mePropMatMulSliceGrads(dy, a, b, { k: 5, mode: 'unified' }, tA, tB);
        expect(tf.memory().numTensors).toBe(before + 3); // da, indices, rows: owned by the caller
        expect(db.axis).toBe(tB ? 0 : 1);
        expect(db.rows.shape).toEqual([5, 13]);
        expect(db.denseShape).toEqual(b.shape);
        // The dense gradient, rebuilt on the host from the slices alone.
        const [R, C] = db.denseShape;
        const rebuilt = new Float32Array(R * C);
        const idx = db.indices.arraySync();
        const rows = db.rows.arraySync();
        expect(new Set(idx).size).toBe(5);
        idx.forEach((j, t) => rows[t].forEach((v, i) => (rebuilt[db.axis === 1 ? i * C + j : j * C + i] = v)));
        expectClose(tf.tensor2d(rebuilt, [R, C]), dense.db, 1e-5);
        expectClose(da, dense.da, 1e-6);
      });
    });

    it('throws a clear error outside unified mode, at k >= N, and for rank 3', () => {
      tf.tidy(() => {
        const { a, b, dy } = operands(4, 6, 10, false, false, 71);
        expect(() => mePropMatMulSliceGrads(dy, a, b, { k: 2, mode: 'per-example' })).toThrow(
          /config\.mode must be 'unified'.*got 'per-example'/,
        );
        expect(() => mePropMatMulSliceGrads(dy, a, b, { k: 10, mode: 'unified' })).toThrow(/keeps 10 of 10 columns/);
        expect(() => mePropMatMulSliceGrads(dy, tf.expandDims(a, 0), b, { k: 2, mode: 'unified' })).toThrow(/must have rank 2/);
      });
    });
  });

  describe('an input that needs no gradient costs nothing', () => {
    /** Names of the kernels that run while differentiating sum(f(x, w) * dy) with respect to `wrt`. */
    async function kernelsRun(f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, wrt: 'w' | 'both'): Promise<string[]> {
      const { a, b, dy } = operands(16, 40, 29, false, false, 60);
      const loss = (x: tf.Tensor, w: tf.Tensor): tf.Scalar => tf.sum(tf.mul(f(x, w), dy));
      const info = await tf.profile(() => {
        const g = wrt === 'w' ? [tf.grad((w: tf.Tensor) => loss(a, w))(b)] : tf.grads(loss)([a, b]);
        tf.dispose(g);
      });
      tf.dispose([a, b, dy]);
      return info.kernels.map((k) => k.name);
    }

    /** The kernels of `more` that `fewer` lacks (multiset difference); throws if `fewer` ran one `more` did not. */
    function extraKernels(more: string[], fewer: string[]): string[] {
      const left = [...more];
      for (const name of fewer) {
        const i = left.indexOf(name);
        if (i < 0) throw new Error(`kernel ${name} ran only in the cheaper run`);
        left.splice(i, 1);
      }
      return left;
    }

    it.each(['per-example', 'unified', 'random'] as const)('%s: differentiating only w runs no dx product', async (mode) => {
      const config: MePropConfig = { k: 5, mode, seed: 3 };
      const both = await kernelsRun((x, w) => mePropMatMul(x, w, config), 'both');
      const onlyW = await kernelsRun((x, w) => mePropMatMul(x, w, config), 'w');
      const dxKernels = extraKernels(both, onlyW);
      expect(dxKernels.length).toBeGreaterThan(0);
      if (hasMePropKernels()) {
        // cpu, wasm and tensorflow: dx is a sparse-gradient kernel, or a dense matmul on the gathered columns
        // (tensorflow's unified path gathers inside its MePropGatherMatMul kernel).
        expect(dxKernels.some((n) => ['MePropSparseGradA', 'BatchMatMul', 'MePropGatherMatMul'].includes(n))).toBe(true);
      }
      expect(onlyW).not.toContain('MePropSparseGradA');
      // tf.matMul's own gradient skips dx the same way: one product fewer.
      const plainDx = extraKernels(
        await kernelsRun((x, w) => tf.matMul(x, w), 'both'),
        await kernelsRun((x, w) => tf.matMul(x, w), 'w'),
      );
      expect(plainDx).toEqual(['BatchMatMul']);
    });

    it('the gradient with respect to w alone equals the one computed with dx', () => {
      tf.tidy(() => {
        const { a, b, dy } = operands(16, 40, 29, false, false, 61);
        const config: MePropConfig = { k: 5, mode: 'unified' };
        const onlyW = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(mePropMatMul(a, w, config), dy)))(b);
        const [, rb] = referenceGrads(a, b, dy, 5, 'unified', false, false);
        expectClose(onlyW, rb, 1e-5);
      });
    });
  });

  describe('bad input', () => {
    const a = () => tf.ones([4, 6]);
    const b = () => tf.ones([6, 5]);
    it.each([
      [() => mePropMatMul(tf.ones([4, 6], 'int32'), b(), { k: 2 }), /mePropMatMul: a must have dtype float32, got int32/],
      [() => mePropMatMul(a(), tf.ones([6, 5], 'int32'), { k: 2 }), /mePropMatMul: b must have dtype float32, got int32/],
      [() => mePropMatMul(a(), tf.ones([7, 5]), { k: 2 }), /inner dimensions of a \[4,6\] and b \[7,5\].*got 6 and 7/],
      [() => mePropMatMul(tf.ones([6]), b(), { k: 2 }), /mePropMatMul: a must have rank 2 or 3, got rank 1/],
      [() => mePropMatMul(a(), b(), { k: 0 }), /mePropMatMul: config\.k must be > 0.*got 0/],
      [() => mePropMatMul(a(), b(), { k: NaN }), /config\.k must be a finite number.*got NaN/],
      [() => mePropMatMul(a(), b(), { k: Infinity }), /config\.k must be a finite number.*got Infinity/],
      [() => mePropMatMul(a(), b(), { k: 3.5 }), /config\.k must be an integer when greater than 1.*got 3\.5/],
      [() => mePropMatMul(a(), b(), { k: 2, mode: 'fast' as never }), /config\.mode must be one of.*got 'fast'/],
      [() => mePropMatMul(a(), b(), { k: 2 }, 'yes' as never), /transposeA must be a boolean, got yes/],
    ])('throws a clear error (%#)', (fn, message) => {
      expect(() => tf.tidy(fn)).toThrow(message);
    });
  });
});
