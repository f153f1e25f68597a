import * as tf from '@tensorflow/tfjs';
import { getMePropStats, resetMePropStats } from '@meprop/core';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { mePropGRU, mePropGRUCell, mePropLSTM, mePropLSTMCell, mePropSimpleRNN, mePropSimpleRNNCell } from './index';
import { nonZeroColumns } from './test-helpers/models';

const T = 4;
const IN = 5;
const UNITS = 6;
type Kind = 'lstm' | 'gru' | 'simpleRNN';
const GATES: Record<Kind, number> = { lstm: 4, gru: 3, simpleRNN: 1 };

function layers(kind: Kind, k: number, mode: 'per-example' | 'unified' = 'per-example') {
  const args = {
    units: UNITS,
    inputShape: [T, IN],
    kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 3 }),
  };
  const plain = kind === 'lstm' ? tf.layers.lstm(args) : kind === 'gru' ? tf.layers.gru(args) : tf.layers.simpleRNN(args);
  const me =
    kind === 'lstm'
      ? mePropLSTM({ ...args, k, mode })
      : kind === 'gru'
        ? mePropGRU({ ...args, k, mode })
        : mePropSimpleRNN({ ...args, k, mode });
  const a = tf.sequential({ layers: [plain] });
  const b = tf.sequential({ layers: [me] });
  b.setWeights(a.getWeights());
  return { a, b };
}

function grads(m: tf.Sequential, x: tf.Tensor) {
  return tf.tidy(() => {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const target = tf.linspace(-1, 1, UNITS);
    const { grads: g } = tf.variableGrads(
      () => tf.sum(tf.mul(m.apply(x, { training: true }) as tf.Tensor, target)) as tf.Scalar,
      vars,
    );
    return vars.map((v) => g[v.name]); // [kernel, recurrentKernel, bias]
  });
}

describeEachBackend('meProp recurrent layers', () => {
  const kinds: Kind[] = ['lstm', 'gru', 'simpleRNN'];

  test.each(kinds)('%s: forward equals tfjs', (kind) => {
    const { a, b } = layers(kind, 2);
    const x = tf.randomNormal([3, T, IN], 0, 1, 'float32', 4);
    expectClose(b.predict(x) as tf.Tensor, a.predict(x) as tf.Tensor, 1e-6);
  });

  test.each(kinds)('%s: with k >= gate width the gradients equal tfjs', (kind) => {
    const { a, b } = layers(kind, GATES[kind] * UNITS);
    const x = tf.randomNormal([3, T, IN], 0, 1, 'float32', 5);
    const ga = grads(a, x);
    const gb = grads(b, x);
    ga.forEach((g, i) => expectClose(gb[i], g, 1e-5));
  });

  test.each(kinds)('%s: small k sparsifies the gate gradients (one example: <= T*k kernel columns)', (kind) => {
    const k = 2;
    const { b } = layers(kind, k);
    resetMePropStats();
    const x = tf.randomNormal([1, T, IN], 0, 1, 'float32', 6);
    const [kernel] = grads(b, x);
    expect(getMePropStats().backwardCalls).toBeGreaterThan(0);
    const cols = nonZeroColumns(kernel).length;
    expect(cols).toBeGreaterThan(0);
    expect(cols).toBeLessThanOrEqual(T * k);
  });

  test.each(kinds)('%s: model.fit trains through meProp', async (kind) => {
    const { b } = layers(kind, 2, 'unified');
    b.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    resetMePropStats();
    const x = tf.randomNormal([4, T, IN], 0, 1, 'float32', 7);
    const y = tf.randomNormal([4, UNITS], 0, 1, 'float32', 8);
    const h = await b.fit(x, y, { epochs: 2, batchSize: 2, verbose: 0 });
    expect(getMePropStats().backwardCalls).toBeGreaterThan(0);
    expect(Number.isFinite(h.history.loss[1] as number)).toBe(true);
  });

  test.each(kinds)('%s with dropout: no tensor leaks across 50 fit batches', async (kind) => {
    const make = { lstm: mePropLSTM, gru: mePropGRU, simpleRNN: mePropSimpleRNN }[kind];
    const m = tf.sequential({
      layers: [make({ units: 4, inputShape: [3, 2], k: 2, mode: 'unified', dropout: 0.2, recurrentDropout: 0.2 })],
    });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const x = tf.randomNormal([100, 3, 2]);
    const y = tf.randomNormal([100, 4]);
    const counts: number[] = [];
    await m.fit(x, y, {
      batchSize: 2,
      epochs: 1,
      verbose: 0,
      callbacks: { onBatchEnd: async (b) => void ((b === 0 || b === 49) && counts.push(tf.memory().numTensors)) },
    });
    expect(counts[1]).toBe(counts[0]);
    tf.dispose([x, y]);
  });

  test('cells work in tf.layers.rnn and serialize with prefixed names', () => {
    for (const cell of [
      mePropLSTMCell({ units: 3, k: 1 }),
      mePropGRUCell({ units: 3, k: 1 }),
      mePropSimpleRNNCell({ units: 3, k: 1 }),
    ]) {
      const m = tf.sequential({ layers: [tf.layers.rnn({ cell, inputShape: [T, IN] })] });
      const y = m.predict(tf.ones([2, T, IN])) as tf.Tensor;
      expect(y.shape).toEqual([2, 3]);
      expect(cell.getClassName()).toMatch(/^MeProp>/);
      expect(cell.getConfig()).toMatchObject({ k: 1, mode: 'per-example' });
    }
  });

  test('bad arguments throw Errors naming the option and value', () => {
    expect(() => mePropLSTM({ units: 3, k: 0 })).toThrow(/mePropLSTM: args\.k must be > 0.*got 0/);
    expect(() => mePropGRU({ units: 3, k: NaN })).toThrow(/mePropGRU: args\.k must be a finite number.*NaN/);
    expect(() => mePropSimpleRNN({ units: 3, k: 1, mode: 'x' as 'unified' })).toThrow(
      /mePropSimpleRNN: args\.mode must be one of.*'x'/,
    );
  });
});
