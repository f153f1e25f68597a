// MePropDense's one-kernel forward on `tensorflow` (MePropDenseForward) against tfjs's own Dense and against the
// layer's unfused path (MePropMatMul, tf.add, the activation), which the other backends run.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { mePropDense, sparseAdam } from '../../index';
import { maxAbsDiff } from '../../test-helpers/models';
import { MePropDenseForward } from '../kernel_names';
import { MePropReluGradFromOutput } from './dense_forward';
import { MePropSparseLazyUpdateInPlace } from '../../optimizers/sparse_update_kernel';

type Activation = 'relu' | 'linear';

function twoLayers(
  kind: 'plain' | 'meprop',
  activation: Activation,
  useBias: boolean,
  k: number,
  mode: 'unified' | 'per-example' | 'random',
) {
  const make = (i: number, inputShape?: number[]) => {
    const args = {
      units: 9,
      activation,
      useBias,
      inputShape,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 10 + i }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 20 + i }),
    };
    return kind === 'plain' ? tf.layers.dense(args) : mePropDense({ ...args, k, mode, seed: 5 + i });
  };
  return tf.sequential({ layers: [make(0, [12]), make(1)] });
}

/** Gradients of every weight and of the input, for a fixed loss. */
function grads(model: tf.Sequential, x: tf.Tensor, target: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const f = (xs: tf.Tensor) =>
      tf.losses.meanSquaredError(target, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar;
    const { grads: g } = tf.variableGrads(() => f(x), vars);
    const dx = tf.grad(f)(x);
    return [...vars.map((v) => g[v.name]), dx];
  });
}

/** Runs `fn` with MePropDenseForward unregistered on tensorflow: MePropDense then takes its unfused path. */
function unfused<T>(fn: () => T): T {
  const config = tf.getKernel(MePropDenseForward, 'tensorflow');
  if (config === undefined) throw new Error('MePropDenseForward is not registered on tensorflow');
  tf.unregisterKernel(MePropDenseForward, 'tensorflow');
  try {
    return fn();
  } finally {
    tf.registerKernel(config);
  }
}

function countKernel(name: string, fn: () => void): number {
  const spy = jest.spyOn(tf.engine(), 'runKernel');
  try {
    fn();
    return spy.mock.calls.filter((c) => c[0] === name).length;
  } finally {
    spy.mockRestore();
  }
}

describeEachBackend('MePropDense one-kernel forward', (backend) => {
  const onTf = backend === 'tensorflow';
  const cases = (['relu', 'linear'] as const).flatMap((activation) => [true, false].map((useBias) => ({ activation, useBias })));

  test.each(cases)(
    'forward equals tf.layers.dense bit for bit ($activation, bias $useBias), one kernel per layer on tensorflow',
    ({ activation, useBias }) => {
      const plain = twoLayers('plain', activation, useBias, 3, 'unified');
      const me = twoLayers('meprop', activation, useBias, 3, 'unified');
      me.setWeights(plain.getWeights());
      const x = tf.randomNormal([5, 12], 0, 1, 'float32', 1);
      const p = plain.predict(x) as tf.Tensor;
      let q: tf.Tensor | null = null;
      const calls = countKernel(MePropDenseForward, () => {
        q = me.predict(x) as tf.Tensor;
      });
      expect(calls).toBe(onTf ? 2 : 0);
      if (onTf || backend === 'cpu') expect(maxAbsDiff(p, q!)).toBe(0);
      else expectClose(q!, p, 1e-6);
      tf.dispose([x, p, q!]);
      plain.dispose();
      me.dispose();
    },
  );

  test.each(cases)(
    'with k >= units the gradients (weights, bias, input) equal tf.layers.dense ($activation, bias $useBias)',
    ({ activation, useBias }) => {
      const plain = twoLayers('plain', activation, useBias, 9, 'unified');
      const me = twoLayers('meprop', activation, useBias, 9, 'unified');
      me.setWeights(plain.getWeights());
      const x = tf.randomNormal([6, 12], 0, 1, 'float32', 2);
      const y = tf.randomNormal([6, 9], 0, 1, 'float32', 3);
      const gp = grads(plain, x, y);
      const gq = grads(me, x, y);
      expect(gq.length).toBe(gp.length);
      gq.forEach((g, i) => expectClose(g, gp[i], 1e-6));
      tf.dispose([x, y, ...gp, ...gq]);
      plain.dispose();
      me.dispose();
    },
  );

  test.each(['unified', 'per-example', 'random'] as const)(
    'with k < units the gradients equal the unfused meProp path (%s)',
    (mode) => {
      const x = tf.randomNormal([6, 12], 0, 1, 'float32', 4);
      const y = tf.randomNormal([6, 9], 0, 1, 'float32', 5);
      const fused = twoLayers('meprop', 'relu', true, 3, mode);
      const reference = twoLayers('meprop', 'relu', true, 3, mode);
      reference.setWeights(fused.getWeights());
      const gq = grads(fused, x, y);
      const gr = onTf ? unfused(() => grads(reference, x, y)) : grads(reference, x, y);
      gq.forEach((g, i) => expectClose(g, gr[i], 1e-6));
      // Not vacuous: the first layer's kernel gradient keeps at most k columns per example (here fewer than all).
      const zeroColumns = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.sum(tf.abs(gq[0]), 0), 0), 'int32')).dataSync()[0]);
      if (mode === 'unified') expect(zeroColumns).toBe(6);
      tf.dispose([x, y, ...gq, ...gr]);
      fused.dispose();
      reference.dispose();
    },
  );

  test('k < units, unified: the gradients equal a brute-force reference', () => {
    const me = twoLayers('meprop', 'relu', true, 3, 'unified');
    const x = tf.randomNormal([6, 12], 0, 1, 'float32', 6);
    const y = tf.randomNormal([6, 9], 0, 1, 'float32', 7);
    const got = grads(me, x, y);
    const [w1, b1, w2, b2] = me.getWeights();
    // Brute force, from the definitions: the dense gradient of relu's input, its k columns of largest Σ|.|
    // over the rows kept for the product's gradients; the bias takes the whole gradient.
    const want = tf.tidy(() => {
      const keep = (d: tf.Tensor2D) => {
        const score = Array.from(tf.sum(tf.abs(d), 0).dataSync());
        const top = score
          .map((v, i) => [v, i])
          .sort((p, q) => q[0] - p[0] || p[1] - q[1])
          .slice(0, 3)
          .map((p) => p[1]);
        const mask = tf.tensor1d(score.map((_, i) => (top.includes(i) ? 1 : 0)));
        return tf.mul(d, mask) as tf.Tensor2D;
      };
      const z1 = tf.add(tf.matMul(x, w1), b1);
      const h1 = tf.relu(z1);
      const z2 = tf.add(tf.matMul(h1, w2), b2);
      const h2 = tf.relu(z2);
      const dh2 = tf.mul(tf.sub(h2, y), 2 / (6 * 9)) as tf.Tensor2D;
      const dz2 = tf.mul(dh2, tf.cast(tf.greater(z2, 0), 'float32')) as tf.Tensor2D;
      const k2 = keep(dz2);
      const dh1 = tf.matMul(k2, w2, false, true);
      const dz1 = tf.mul(dh1, tf.cast(tf.greater(z1, 0), 'float32')) as tf.Tensor2D;
      const k1 = keep(dz1);
      return [tf.matMul(x, k1, true), tf.sum(dz1, 0), tf.matMul(h1, k2, true), tf.sum(dz2, 0), tf.matMul(k1, w1, false, true)];
    });
    want.forEach((g, i) => expectClose(got[i], g, 1e-5));
    tf.dispose([x, y, ...got, ...want]); // w1..b2 are the model's own variables
    me.dispose();
  });

  test('relu gradient from the output: dy * step(x) as tfjs computes it, NaN, infinities and signed zeros included', () => {
    if (!onTf) {
      expect(tf.getKernel(MePropReluGradFromOutput, backend)).toBeUndefined();
      return;
    }
    const x = tf.tensor1d([NaN, -0, 0, -1, 2, Infinity, -Infinity, 3, -2, 0.5]);
    const dy = tf.tensor1d([1, -1, 1, 2, -3, 4, Infinity, NaN, Infinity, -Infinity]);
    const want = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
    const got = tf.engine().runKernel(MePropReluGradFromOutput, { dy, y: tf.relu(x) }) as tf.Tensor;
    const [g, w] = [Array.from(got.dataSync()), Array.from(want.dataSync())];
    g.forEach((v, i) => expect(Object.is(v, w[i])).toBe(true));
    tf.dispose([x, dy, want, got]);
  });

  test('sparseAdam.minimize: same weights as the unfused path, sparse steps, no leaked tensors', () => {
    const fused = twoLayers('meprop', 'relu', true, 3, 'unified');
    const reference = twoLayers('meprop', 'relu', true, 3, 'unified');
    reference.setWeights(fused.getWeights());
    const x = tf.randomNormal([6, 12], 0, 1, 'float32', 8);
    const y = tf.randomNormal([6, 9], 0, 1, 'float32', 9);
    const optF = sparseAdam(0.01);
    const optR = sparseAdam(0.01);
    const step = (m: tf.Sequential, o: tf.Optimizer) =>
      o.minimize(
        () => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        false,
        m.trainableWeights.map((w) => w.read() as tf.Variable),
      );
    step(fused, optF); // slots and cached zeros made
    const before = tf.memory().numTensors;
    let sparse = 0;
    for (let i = 0; i < 3; i++) sparse += countKernel(MePropSparseLazyUpdateInPlace, () => step(fused, optF));
    expect(tf.memory().numTensors).toBe(before);
    // Both meProp kernels of the two layers through the sparse step on tensorflow, every step.
    expect(sparse).toBe(onTf ? 3 * 2 : 0);
    const run = () => {
      for (let i = 0; i < 4; i++) step(reference, optR);
    };
    if (onTf) unfused(run);
    else run();
    const [wf, wr] = [fused.getWeights(), reference.getWeights()];
    wf.forEach((w, i) => expectClose(w, wr[i], 1e-6));
    tf.dispose([x, y]);
    optF.dispose();
    optR.dispose();
    fused.dispose();
    reference.dispose();
  });
});
