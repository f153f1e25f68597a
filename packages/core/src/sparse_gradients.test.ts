import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import { beginSparseGradients, mePropMatMul, MePropConfig, SparseSlices, withMeProp } from './index';

const UNIFIED: MePropConfig = { k: 4, mode: 'unified' };

/** The dense [R, C] matrix the slices stand for, summing duplicate indices (independent of the code under test). */
function densify(s: SparseSlices): tf.Tensor2D {
  const [R, C] = s.denseShape;
  const idx = s.indices.dataSync();
  const rows = s.rows.arraySync();
  const out = new Float32Array(R * C);
  idx.forEach((j, t) => {
    rows[t].forEach((v, i) => {
      if (s.axis === 1) out[i * C + j] += v;
      else out[j * C + i] += v;
    });
  });
  return tf.tensor2d(out, [R, C]);
}

/** Gradients of loss over vars with a session: what resolve() gives, densified, plus whether it was sparse. */
function sessionGrads(
  loss: () => tf.Scalar,
  vars: tf.Variable[],
): Array<{ dense: tf.Tensor; sparse: boolean; unique: boolean | null }> {
  const session = beginSparseGradients(vars);
  try {
    const { value, grads } = tf.variableGrads(session.wrap(loss), vars);
    const out = vars.map((v) => {
      const r = session.resolve(v, grads[v.name]);
      if (r.kind === 'sparse') return { dense: densify(r.slices), sparse: true, unique: r.slices.unique };
      return { dense: r.owned ? r.grad : r.grad.clone(), sparse: false, unique: null };
    });
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    session.end();
  }
}

/** The same gradients without a session (dense, as every tfjs optimizer receives them). */
function plainGrads(loss: () => tf.Scalar, vars: tf.Variable[]): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dispose();
  return vars.map((v) => grads[v.name]);
}

let uid = 0;
const v = (shape: number[], seed: number) => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seed), true, `sg_${uid++}`);

describeEachBackend('sparse gradient sessions', () => {
  const x = () => tf.randomNormal([6, 5], 0, 1, 'float32', 1);
  const target = () => tf.randomNormal([6, 9], 0, 1, 'float32', 2);

  it('a weight used by one unified meProp product arrives as k column slices equal to the dense gradient', () => {
    const w = v([5, 9], 3);
    const b = v([9], 4);
    const loss = () => tf.losses.meanSquaredError(target(), tf.add(mePropMatMul(x(), w, UNIFIED), b)) as tf.Scalar;
    const [gw, gb] = sessionGrads(loss, [w, b]);
    const [pw, pb] = plainGrads(loss, [w, b]);
    expect([gw.sparse, gw.unique, gb.sparse]).toEqual([true, true, false]);
    expectClose(gw.dense, pw, 1e-6);
    expectClose(gb.dense, pb, 1e-6);
    // Not vacuous: meProp's gradient has exactly k non-zero columns.
    const nonZeroCols = tf.sum(tf.cast(tf.notEqual(tf.sum(tf.abs(pw), 0), 0), 'int32')).dataSync()[0];
    expect(nonZeroCols).toBe(4);
  });

  it('transposed weights ([N, K]) arrive as row slices', () => {
    const w = v([9, 5], 5);
    const loss = () => tf.losses.meanSquaredError(target(), mePropMatMul(x(), w, UNIFIED, false, true)) as tf.Scalar;
    const [gw] = sessionGrads(loss, [w]);
    expect(gw.sparse).toBe(true);
    expectClose(gw.dense, plainGrads(loss, [w])[0], 1e-6);
  });

  it('a weight used twice (shared, as an RNN kernel at every step) merges both contributions, duplicates summed', () => {
    const w = v([5, 5], 6);
    const loss = () => tf.sum(tf.square(mePropMatMul(tf.tanh(mePropMatMul(x(), w, UNIFIED)), w, UNIFIED))) as tf.Scalar;
    const [gw] = sessionGrads(loss, [w]);
    expect([gw.sparse, gw.unique]).toEqual([true, false]);
    expectClose(gw.dense, plainGrads(loss, [w])[0], 1e-5);
  });

  it('a weight with a dense contribution too (a regularizer) falls back to the exact dense gradient', () => {
    const w = v([5, 9], 7);
    const loss = () =>
      tf.add(tf.losses.meanSquaredError(target(), mePropMatMul(x(), w, UNIFIED)), tf.mul(0.1, tf.sum(tf.square(w)))) as tf.Scalar;
    const [gw] = sessionGrads(loss, [w]);
    expect(gw.sparse).toBe(false);
    expectClose(gw.dense, plainGrads(loss, [w])[0], 1e-6);
  });

  it('tf.fused.matMul under withMeProp (Dense layers): the reshaped view of the weight is recognised', () => {
    const w = v([5, 9], 8);
    const loss = () => tf.losses.meanSquaredError(target(), tf.fused.matMul({ a: x(), b: w })) as tf.Scalar;
    withMeProp(UNIFIED, () => {
      const [gw] = sessionGrads(loss, [w]);
      expect(gw.sparse).toBe(true);
      expectClose(gw.dense, plainGrads(loss, [w])[0], 1e-6);
    });
  });

  it('per-example mode and a gradient taken inside the loss stay dense and exact', () => {
    const w = v([5, 9], 9);
    const perExample = () =>
      tf.losses.meanSquaredError(target(), mePropMatMul(x(), w, { k: 4, mode: 'per-example' })) as tf.Scalar;
    const [g1] = sessionGrads(perExample, [w]);
    expect(g1.sparse).toBe(false);
    expectClose(g1.dense, plainGrads(perExample, [w])[0], 1e-6);
    // A gradient taken inside the loss runs at a deeper gradient depth and is computed as usual; its forward
    // ops sit on the same tape, so the weight counts a consumer that gave no slices: dense, exact.
    const scaled = () => {
      const inner = tf.grad((xx: tf.Tensor) => tf.sum(mePropMatMul(xx, w, UNIFIED)))(x());
      const scale = tf.scalar(1 + Math.abs(tf.sum(inner).dataSync()[0]) / 100);
      return tf.mul(scale, tf.losses.meanSquaredError(target(), mePropMatMul(x(), w, UNIFIED))) as tf.Scalar;
    };
    const [g2] = sessionGrads(scaled, [w]);
    expect(g2.sparse).toBe(false);
    expectClose(g2.dense, plainGrads(scaled, [w])[0], 1e-5);
  });

  it('leaks no tensors over steps', async () => {
    const w = v([5, 9], 10);
    const loss = () => tf.losses.meanSquaredError(target(), mePropMatMul(x(), w, UNIFIED)) as tf.Scalar;
    const { after1, afterN } = await tensorCountAfter(() => {
      tf.dispose(sessionGrads(loss, [w]).map((g) => g.dense));
    }, 10);
    expect(afterN).toBe(after1);
  });

  it('rejects bad arguments', () => {
    expect(() => beginSparseGradients([tf.zeros([2]) as unknown as tf.Variable])).toThrow(
      /variables must be an array of tf.Variable/,
    );
  });
});
