import * as tf from '@tensorflow/tfjs';
import { getMePropStats, resetMePropStats } from '@meprop/core';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { MePropDense, mePropDense } from './index';
import { maxAbsDiff, nonZeroColumns } from './test-helpers/models';

const ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'] as const;

function pair(
  activation: (typeof ACTIVATIONS)[number],
  k: number,
  mode: 'per-example' | 'unified' = 'per-example',
  inputDim = 12,
  units = 9,
) {
  const common = {
    units,
    activation,
    kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }),
  };
  const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [inputDim], ...common })] });
  const me = tf.sequential({ layers: [mePropDense({ inputShape: [inputDim], ...common, k, mode })] });
  me.setWeights(plain.getWeights());
  return { plain, me };
}

describeEachBackend('MePropDense', (backend) => {
  test.each(ACTIVATIONS)('forward equals tf.layers.dense (%s), 2-D and 3-D inputs', (activation) => {
    const { plain, me } = pair(activation, 2);
    const x2 = tf.randomNormal([5, 12], 0, 1, 'float32', 1);
    const x3 = tf.randomNormal([2, 3, 12], 0, 1, 'float32', 2);
    const p = plain.predict(x2) as tf.Tensor;
    const q = me.predict(x2) as tf.Tensor;
    // On cpu our forward kernel reproduces tfjs's sums bit for bit.
    if (backend === 'cpu') expect(maxAbsDiff(p, q)).toBe(0);
    else expectClose(q, p, 1e-6);
    const layerP = plain.layers[0];
    const layerQ = me.layers[0];
    expectClose(layerQ.apply(x3) as tf.Tensor, layerP.apply(x3) as tf.Tensor, 1e-6);
    tf.dispose([x2, x3, p, q]);
  });

  test.each(ACTIVATIONS)('model.fit with activation %s applies meProp: sparse kernel gradient columns', async (activation) => {
    const { me } = pair(activation, 2, 'per-example', 12, 9);
    const before = me.getWeights()[0].clone();
    me.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
    resetMePropStats();
    const x = tf.randomNormal([1, 12], 0, 1, 'float32', 5);
    const y = tf.randomNormal([1, 9], 0, 1, 'float32', 6);
    await me.fit(x, y, { epochs: 1, batchSize: 1, verbose: 0 });
    expect(getMePropStats().backwardCalls).toBeGreaterThan(0);
    // One example, k = 2: at most two kernel columns moved.
    const changed = tf.tidy(() => nonZeroColumns(tf.sub(me.getWeights()[0], before)));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThanOrEqual(2);
    tf.dispose([before, x, y]);
  });

  test.each(ACTIVATIONS)('with k >= units the gradients equal tfjs (%s)', (activation) => {
    const { plain, me } = pair(activation, 9);
    const x = tf.randomNormal([4, 12], 0, 1, 'float32', 7);
    const y = tf.randomNormal([4, 9], 0, 1, 'float32', 8);
    const grads = (m: tf.Sequential) =>
      tf.tidy(() => {
        const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
        const { grads: g } = tf.variableGrads(
          () => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          vars,
        );
        return vars.map((v) => g[v.name]);
      });
    const gp = grads(plain);
    const gq = grads(me);
    gp.forEach((g, i) => expectClose(gq[i], g, 1e-5));
    tf.dispose([x, y, ...gp, ...gq]);
  });

  test('unified mode: exactly k kernel gradient columns for the batch', () => {
    const { me } = pair('relu', 3, 'unified', 12, 9);
    const x = tf.randomNormal([6, 12], 0, 1, 'float32', 9);
    const w = me.trainableWeights[0].read() as tf.Variable;
    const g = tf.tidy(
      () =>
        tf.variableGrads(() => tf.sum(tf.mul(me.apply(x) as tf.Tensor, tf.linspace(1, 2, 9))) as tf.Scalar, [w]).grads[w.name],
    );
    expect(nonZeroColumns(g).length).toBe(3);
    tf.dispose([x, g]);
  });

  test('getConfig round-trips k and mode, class name is prefixed', () => {
    const layer = mePropDense({ units: 4, k: 0.5, mode: 'unified', activation: 'tanh', seed: 3 });
    const cfg = layer.getConfig();
    expect(MePropDense.className).toBe('MeProp>Dense');
    expect(cfg).toMatchObject({ units: 4, k: 0.5, mode: 'unified', activation: 'tanh', seed: 3 });
    const again = MePropDense.fromConfig(MePropDense, cfg) as MePropDense;
    expect(again.mePropConfig).toEqual({ k: 0.5, mode: 'unified', seed: 3 });
  });

  test('relies on Dense internals that exist in this tfjs version', () => {
    const layer = mePropDense({ inputShape: [3], units: 2, k: 1 });
    tf.sequential({ layers: [layer] });
    const internals = layer as unknown as { kernel: unknown; bias: unknown; activation: { apply: unknown } };
    expect(internals.kernel).toBeDefined();
    expect(internals.bias).toBeDefined();
    expect(typeof internals.activation.apply).toBe('function');
  });

  test('bad arguments throw Errors naming the option and value', () => {
    expect(() => mePropDense({ units: 3, k: 0 })).toThrow(/k must be > 0.*got 0/);
    expect(() => mePropDense({ units: 3, k: -2 })).toThrow(/k must be > 0.*got -2/);
    expect(() => mePropDense({ units: 3, k: NaN })).toThrow(/k must be a finite number.*got NaN/);
    expect(() => mePropDense({ units: 3, k: 2.5 })).toThrow(/k must be an integer.*2\.5/);
    expect(() => mePropDense({ units: 3, k: 2, mode: 'fastest' as 'unified' })).toThrow(/mode must be one of.*'fastest'/);
    expect(() => mePropDense(undefined as unknown as { units: number; k: number })).toThrow(/args must be an object/);
  });
});
