import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { mePropDense, mePropGRU, mePropLSTM, mePropSimpleRNN, mePropify } from '../index';
import { trackActiveness } from './activeness';

const IN = 6;
const UNITS = 10;
const OUT = 4;
const BATCH = 8;

function denseModel(k: number, mode: 'per-example' | 'unified' | 'random') {
  const hidden = mePropDense({
    inputShape: [IN],
    units: UNITS,
    activation: 'relu',
    k,
    mode,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 2 }),
    name: 'hidden',
  });
  const out = tf.layers.dense({
    units: OUT,
    activation: 'softmax',
    kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    name: 'out',
  });
  return tf.sequential({ layers: [hidden, out] });
}

/** The pre-activation gradient of the hidden layer in plain tfjs, for the model's current weights. */
function hiddenGrad(model: tf.Sequential, x: tf.Tensor, y: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const [w1, b1, w2, b2] = model.getWeights();
    const loss = (z: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(z), w2), b2));
    const z0 = tf.add(tf.matMul(x, w1), b1);
    return tf.grad(loss)(z0).dataSync() as Float32Array;
  });
}

/** Brute force: per row, the k largest non-zero |dy|; or, unified, the k columns of largest Σ|dy|. */
function keptCounts(dy: Float32Array, rows: number, n: number, k: number, unified: boolean): number[] {
  const counts = new Array<number>(n).fill(0);
  const rank = (score: number[]) =>
    score
      .map((s, j) => [s, j])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k)
      .map((p) => p[1]);
  if (unified) {
    const score = Array.from({ length: n }, (_, j) =>
      Array.from({ length: rows }, (_, r) => Math.abs(dy[r * n + j])).reduce((a, b) => a + b, 0),
    );
    const cols = rank(score);
    for (let r = 0; r < rows; r++) for (const j of cols) if (dy[r * n + j] !== 0) counts[j]++;
  } else {
    for (let r = 0; r < rows; r++) {
      const row = Array.from({ length: n }, (_, j) => Math.abs(dy[r * n + j]));
      for (const j of rank(row)) if (row[j] !== 0) counts[j]++;
    }
  }
  return counts;
}

describeEachBackend('activeness', () => {
  test.each(['per-example', 'unified'] as const)(
    'Dense (%s): counts the kept non-zero entries of dy, as a brute-force top-k of the plain gradient',
    async (mode) => {
      const k = 3;
      const model = denseModel(k, mode);
      const tracker = trackActiveness(model);
      const x = tf.randomNormal([BATCH, IN], 0, 1, 'float32', 4);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), OUT);
      const dy = hiddenGrad(model, x, y);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      await model.fit(x, y, { epochs: 1, batchSize: BATCH, shuffle: false, verbose: 0 });
      const a = (await tracker.read())['hidden'];
      expect(a.rows).toBe(BATCH);
      expect(a.gates).toBe(1);
      const expected = keptCounts(dy, BATCH, UNITS, k, mode === 'unified');
      expect(expected.reduce((s, c) => s + c, 0)).toBeGreaterThan(0);
      expect(Array.from(a.activeness, (v) => Math.round(v * BATCH))).toEqual(expected);
      tracker.reset();
      const r = (await tracker.read())['hidden'];
      expect(r.rows).toBe(0);
      expect(Array.from(r.activeness)).toEqual(new Array(UNITS).fill(0));
      tracker.dispose();
      tf.dispose([x, y]);
      model.dispose();
    },
  );

  test.each(['lstm', 'gru', 'simpleRNN'] as const)(
    '%s: rows are examples × time steps; each row keeps k of the gate gradient entries',
    async (kind) => {
      const T = 3;
      const k = 2;
      const args = {
        inputShape: [T, IN],
        units: 5,
        k,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        name: 'rnn',
      };
      const rnn = kind === 'lstm' ? mePropLSTM(args) : kind === 'gru' ? mePropGRU(args) : mePropSimpleRNN(args);
      const model = tf.sequential({
        layers: [rnn, tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })],
      });
      const tracker = trackActiveness(model);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const x = tf.randomNormal([BATCH, T, IN], 0, 1, 'float32', 5);
      const y = tf.randomNormal([BATCH, 2], 0, 1, 'float32', 6);
      await model.fit(x, y, { epochs: 1, batchSize: BATCH, verbose: 0 });
      const a = (await tracker.read())['rnn'];
      const gates = { lstm: 4, gru: 3, simpleRNN: 1 }[kind];
      expect(a.gates).toBe(gates);
      expect(a.rows).toBe(BATCH * T);
      // tanh/sigmoid gates: no exact zeros in dy, so every row keeps exactly k entries.
      const kept = Array.from(a.activeness).reduce((s, v) => s + v * a.rows * gates, 0);
      expect(Math.round(kept)).toBe(BATCH * T * k);
      tracker.dispose();
      tf.dispose([x, y]);
      model.dispose();
    },
  );

  test('a tracked model trains without leaking tensors; predictions are unchanged by tracking', async () => {
    const model = denseModel(3, 'per-example');
    const x = tf.randomNormal([BATCH, IN], 0, 1, 'float32', 7);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), OUT);
    const before = model.predict(x) as tf.Tensor;
    const tracker = trackActiveness(model);
    const during = model.predict(x) as tf.Tensor;
    expect(Array.from(during.dataSync())).toEqual(Array.from(before.dataSync()));
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const n = tf.memory().numTensors;
    await model.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0 });
    expect(tf.memory().numTensors).toBe(n);
    expect((await tracker.read())['hidden'].rows).toBe(4 * BATCH);
    tracker.dispose();
    expect(() => tracker.reset()).toThrow(/disposed/);
    tf.dispose([x, y, before, during]);
    model.dispose();
  });

  test('mePropify-ed models are tracked; plain and random-mode models are refused', () => {
    const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [IN], units: UNITS }), tf.layers.dense({ units: 2 })] });
    expect(() => trackActiveness(plain)).toThrow(/no meProp Dense\/LSTM\/GRU\/SimpleRNN layer/);
    const { model } = mePropify(plain, { k: 2 });
    const n0 = tf.memory().numTensors;
    trackActiveness(model).dispose();
    expect(tf.memory().numTensors).toBe(n0);
    const tracker = trackActiveness(model);
    expect(tracker.layerNames).toEqual([model.layers[0].name]);
    expect(() => trackActiveness(model)).toThrow(/already tracked/);
    tracker.dispose();
    expect(() => trackActiveness(denseModel(2, 'random'))).toThrow(/mode 'random'/);
    expect(() => trackActiveness({} as tf.LayersModel)).toThrow(/model must be a tf.LayersModel/);
  });
});
