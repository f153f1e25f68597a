import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, weightsInTestRealm, expectClose } from '@meprop/test-utils';
import { mePropDense, mePropGRU, mePropLSTM, mePropSimpleRNN, mePropify } from '../index';
import { trackActiveness, type ActivenessMap } from './activeness';
import { meSimplify } from './me_simplify';

const IN = 7;
const T = 4;
const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const biasInit = (seed: number) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });

/** Activeness that removes the units listed in `removed` at threshold 0.5. */
function fakeActiveness(units: number, removed: number[], gates = 1): ActivenessMap[string] {
  const activeness = new Float32Array(units).map((_, j) => (removed.includes(j) ? 0.1 + 0.01 * j : 0.6 + 0.01 * j));
  return { units, gates, rows: 100, activeness };
}

function maskOf(units: number, removed: number[]): tf.Tensor1D {
  return tf.tensor1d(Array.from({ length: units }, (_, j) => (removed.includes(j) ? 0 : 1)));
}

function noMePropClasses(model: tf.LayersModel): void {
  const json = JSON.stringify(model.toJSON(null, false));
  expect(json).not.toMatch(/MeProp>/);
  expect(json).not.toMatch(/"k":/);
}

/** Saves and loads through tfjs's own IO (the classes in the JSON must be tfjs's). */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  weightsInTestRealm(model);
  let artifacts: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return tf.loadLayersModel(tf.io.fromMemory(artifacts as unknown as tf.io.ModelArtifacts));
}

type Kind = 'lstm' | 'gru' | 'simpleRNN';

/**
 * A reference RNN forward in plain ops (tfjs 4.22's cell math, sigmoid recurrent activation) whose hidden
 * state is multiplied by `mask` at every step: the removed units' activations forced to zero.
 */
function rnnForward(
  kind: Kind,
  x: tf.Tensor3D,
  [w, u, b]: tf.Tensor[],
  units: number,
  mask: tf.Tensor1D,
  returnSequences: boolean,
): tf.Tensor {
  const [batch, steps] = x.shape;
  let h: tf.Tensor = tf.zeros([batch, units]);
  let c: tf.Tensor = tf.zeros([batch, units]);
  const outs: tf.Tensor[] = [];
  for (let t = 0; t < steps; t++) {
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [batch, 1, -1]), [batch, -1]);
    if (kind === 'lstm') {
      const [zi, zf, zc, zo] = tf.split(tf.add(tf.add(tf.matMul(xt, w), tf.matMul(h, u)), b), 4, 1);
      c = tf.add(tf.mul(tf.sigmoid(zf), c), tf.mul(tf.sigmoid(zi), tf.tanh(zc)));
      h = tf.mul(tf.mul(tf.sigmoid(zo), tf.tanh(c)), mask);
    } else if (kind === 'gru') {
      const [xz, xr, xh] = tf.split(tf.add(tf.matMul(xt, w), b), 3, 1);
      const [uz, ur, uh] = tf.split(u, 3, 1);
      const z = tf.sigmoid(tf.add(xz, tf.matMul(h, uz)));
      const r = tf.sigmoid(tf.add(xr, tf.matMul(h, ur)));
      const hh = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), uh)));
      h = tf.mul(tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh)), mask);
    } else {
      h = tf.mul(tf.tanh(tf.add(tf.add(tf.matMul(xt, w), tf.matMul(h, u)), b)), mask);
    }
    outs.push(h);
  }
  return returnSequences ? tf.stack(outs, 1) : h;
}

describeEachBackend('meSimplify', () => {
  test('MLP: the plain simplified model equals the original with the removed units forced to zero', async () => {
    const model = tf.sequential({
      layers: [
        mePropDense({
          inputShape: [IN],
          units: 16,
          activation: 'relu',
          k: 4,
          kernelInitializer: init(1),
          biasInitializer: biasInit(2),
          name: 'h1',
        }),
        tf.layers.dropout({ rate: 0.1, name: 'drop1' }),
        mePropDense({
          units: 12,
          activation: 'tanh',
          k: 4,
          kernelInitializer: init(3),
          biasInitializer: biasInit(4),
          name: 'h2',
        }),
        tf.layers.dense({
          units: 5,
          activation: 'softmax',
          kernelInitializer: init(5),
          biasInitializer: biasInit(6),
          name: 'out',
        }),
      ],
    });
    const removed1 = [0, 3, 4, 9, 15];
    const removed2 = [1, 2, 11];
    const { model: simple, report } = await meSimplify(model, {
      threshold: 0.5,
      activeness: { h1: fakeActiveness(16, removed1), h2: fakeActiveness(12, removed2) },
    });
    expect(report.h1).toMatchObject({ className: 'MeProp>Dense', before: 16, after: 11 });
    expect(report.h2).toMatchObject({ before: 12, after: 9, kept: [0, 3, 4, 5, 6, 7, 8, 9, 10] });
    expect(simple.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dropout', 'Dense', 'Dense']);
    expect(simple.getWeights().map((w) => w.shape)).toEqual([[IN, 11], [11], [11, 9], [9], [9, 5], [5]]);
    noMePropClasses(simple);

    const x = tf.randomNormal([6, IN], 0, 1, 'float32', 7);
    const [w1, b1, w2, b2, w3, b3] = model.getWeights();
    const ref = tf.tidy(() => {
      const h1 = tf.mul(tf.relu(tf.add(tf.matMul(x, w1), b1)), maskOf(16, removed1));
      const h2 = tf.mul(tf.tanh(tf.add(tf.matMul(h1, w2), b2)), maskOf(12, removed2));
      return tf.softmax(tf.add(tf.matMul(h2, w3), b3));
    });
    expectClose(simple.predict(x) as tf.Tensor, ref, 1e-5);
    const loaded = await roundTrip(simple);
    expectClose(loaded.predict(x) as tf.Tensor, ref, 1e-5);
    // The copy owns its weights.
    model.dispose();
    expectClose(simple.predict(x) as tf.Tensor, ref, 1e-5);
  });

  test.each(['lstm', 'gru', 'simpleRNN'] as Kind[])(
    '%s: stacked layers shrink (gates, recurrent rows and columns, next rows) and equal the reference with the units forced to zero',
    async (kind) => {
      const make = kind === 'lstm' ? mePropLSTM : kind === 'gru' ? mePropGRU : mePropSimpleRNN;
      const gates = { lstm: 4, gru: 3, simpleRNN: 1 }[kind];
      const common = {
        k: 3,
        recurrentActivation: 'sigmoid' as const,
        kernelInitializer: init(1),
        recurrentInitializer: init(2),
        biasInitializer: biasInit(3),
      };
      const input = tf.input({ shape: [T, IN] });
      const r1 = make({ ...common, units: 6, returnSequences: true, name: 'r1' }).apply(input) as tf.SymbolicTensor;
      const r2 = make({ ...common, units: 5, name: 'r2', kernelInitializer: init(4), recurrentInitializer: init(5) }).apply(
        r1,
      ) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3, kernelInitializer: init(6), name: 'out' }).apply(r2) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const removed1 = [1, 4];
      const removed2 = [0, 2, 3];
      const { model: simple, report } = await meSimplify(model, {
        threshold: 0.5,
        activeness: { r1: fakeActiveness(6, removed1, gates), r2: fakeActiveness(5, removed2, gates) },
      });
      expect([report.r1.after, report.r2.after]).toEqual([4, 2]);
      const plainClass = { lstm: 'LSTM', gru: 'GRU', simpleRNN: 'SimpleRNN' }[kind];
      expect(simple.layers.slice(1).map((l) => l.getClassName())).toEqual([plainClass, plainClass, 'Dense']);
      expect(simple.getWeights().map((w) => w.shape)).toEqual([
        [IN, 4 * gates],
        [4, 4 * gates],
        [4 * gates],
        [4, 2 * gates],
        [2, 2 * gates],
        [2 * gates],
        [2, 3],
        [3],
      ]);
      noMePropClasses(simple);

      const x = tf.randomNormal([3, T, IN], 0, 1, 'float32', 8) as tf.Tensor3D;
      const w = model.getWeights();
      const ref = tf.tidy(() => {
        const s1 = rnnForward(kind, x, w.slice(0, 3), 6, maskOf(6, removed1), true) as tf.Tensor3D;
        const s2 = rnnForward(kind, s1, w.slice(3, 6), 5, maskOf(5, removed2), false);
        return tf.add(tf.matMul(s2, w[6]), w[7]);
      });
      expectClose(simple.predict(x) as tf.Tensor, ref, 1e-5);
      const loaded = await roundTrip(simple);
      expectClose(loaded.predict(x) as tf.Tensor, ref, 1e-5);
    },
  );

  test('with activeness from training: units below the threshold go, the rest keep their function', async () => {
    const plain = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [IN], units: 20, activation: 'relu', kernelInitializer: init(1), name: 'h1' }),
        tf.layers.dense({ units: 20, activation: 'relu', kernelInitializer: init(2), name: 'h2' }),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'out' }),
      ],
    });
    const { model } = mePropify(plain, { k: 3 });
    const tracker = trackActiveness(model);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const x = tf.randomNormal([64, IN], 0, 1, 'float32', 9);
    const y = tf.oneHot(tf.cast(tf.floor(tf.randomUniform([64], 0, 2.999, 'float32', 10)), 'int32'), 3);
    await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
    const act = await tracker.read();
    const threshold = 0.15;
    const { model: simple, report } = await meSimplify(model, { threshold, minUnits: 2 });
    for (const name of ['h1', 'h2']) {
      const below = Array.from(act[name].activeness).filter((a) => a < threshold).length;
      expect(report[name].after).toBe(Math.max(2, 20 - below));
    }
    expect(report.h1.after + report.h2.after).toBeLessThan(40);
    expect(report.out).toBeUndefined();
    const [w1, b1, w2, b2, w3, b3] = model.getWeights();
    const m1 = tf.tensor1d(Array.from({ length: 20 }, (_, j) => (report.h1.kept.includes(j) ? 1 : 0)));
    const m2 = tf.tensor1d(Array.from({ length: 20 }, (_, j) => (report.h2.kept.includes(j) ? 1 : 0)));
    const ref = tf.tidy(() => {
      const h1 = tf.mul(tf.relu(tf.add(tf.matMul(x, w1), b1)), m1);
      const h2 = tf.mul(tf.relu(tf.add(tf.matMul(h1, w2), b2)), m2);
      return tf.softmax(tf.add(tf.matMul(h2, w3), b3));
    });
    expectClose(simple.predict(x) as tf.Tensor, ref, 1e-5);
    tracker.dispose();
  });

  test('minUnits keeps the most active units; threshold 0 keeps everything (a plain copy)', async () => {
    const model = tf.sequential({
      layers: [mePropDense({ inputShape: [IN], units: 8, k: 2, name: 'h' }), tf.layers.dense({ units: 2, name: 'out' })],
    });
    const activeness = new Float32Array([0.05, 0.3, 0.01, 0.2, 0.0, 0.1, 0.02, 0.03]);
    const act = { h: { units: 8, gates: 1, rows: 10, activeness } };
    const { report } = await meSimplify(model, { threshold: 0.9, minUnits: 3, activeness: act });
    expect(report.h).toMatchObject({ after: 3, kept: [1, 3, 5] });
    const { model: copy, report: r0 } = await meSimplify(model, { threshold: 0, activeness: act });
    expect(r0.h.after).toBe(8);
    noMePropClasses(copy);
    const x = tf.randomNormal([2, IN], 0, 1, 'float32', 11);
    expectClose(copy.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 1e-6);
  });

  test('maxUnits caps each layer at its most active units (ties to the lower index), on top of the threshold', async () => {
    const model = tf.sequential({
      layers: [
        mePropDense({ inputShape: [IN], units: 8, activation: 'relu', k: 2, name: 'h', kernelInitializer: init(1) }),
        tf.layers.dense({ units: 2, name: 'out', kernelInitializer: init(2) }),
      ],
    });
    const activeness = new Float32Array([0.05, 0.3, 0.01, 0.2, 0.3, 0.1, 0.02, 0.5]);
    const act = { h: { units: 8, gates: 1, rows: 10, activeness } };
    // Above 0.04: units 0, 1, 3, 4, 5, 7; the 3 most active: 7 (0.5), then 1 and 4 tie at 0.3 (both fit).
    const { model: small, report } = await meSimplify(model, { threshold: 0.04, maxUnits: 3, activeness: act });
    expect(report.h).toMatchObject({ before: 8, after: 3, kept: [1, 4, 7] });
    // A tie at the cut: 1 and 4 tie, the lower index stays.
    expect((await meSimplify(model, { threshold: 0.04, maxUnits: 2, activeness: act })).report.h.kept).toEqual([1, 7]);
    // The threshold removes more than the cap: the cap changes nothing.
    expect((await meSimplify(model, { threshold: 0.25, maxUnits: 5, activeness: act })).report.h.kept).toEqual([1, 4, 7]);
    // The capped model equals the original with the other units' activations forced to zero (reference in plain ops).
    const x = tf.randomNormal([5, IN], 0, 1, 'float32', 3);
    const [w1, b1, w2, b2] = model.getWeights();
    const mask = maskOf(8, [0, 2, 3, 5, 6]);
    const ref = tf.add(tf.matMul(tf.mul(tf.relu(tf.add(tf.matMul(x, w1), b1)), mask), w2), b2);
    expectClose(small.predict(x) as tf.Tensor, ref, 1e-5);
    noMePropClasses(small);
    await expect(meSimplify(model, { threshold: 0.1, minUnits: 4, maxUnits: 3, activeness: act })).rejects.toThrow(
      /options\.maxUnits must be an integer >= minUnits \(4\), got 3/,
    );
    for (const maxUnits of [0, 2.5, '3' as unknown as number])
      await expect(meSimplify(model, { threshold: 0.1, maxUnits, activeness: act })).rejects.toThrow(
        /options\.maxUnits must be an integer/,
      );
  });

  test('layers whose units cannot be removed are kept whole, with the reason', async () => {
    const input = tf.input({ shape: [IN] });
    const a = mePropDense({ units: 6, activation: 'relu', k: 2, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = mePropDense({ units: 6, activation: 'softmax', k: 2, name: 'b' }).apply(input) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat' }).apply([a, b]) as tf.SymbolicTensor;
    const d = mePropDense({ units: 4, activation: 'relu', k: 2, name: 'd' }).apply(cat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [d] });
    const { report } = await meSimplify(model, {
      threshold: 0.5,
      activeness: { a: fakeActiveness(6, [0]), b: fakeActiveness(6, [0]), d: fakeActiveness(4, [0]) },
    });
    expect(report.a).toMatchObject({ after: 6, reason: "consumer 'cat' (Concatenate) cannot drop input units" });
    expect(report.b).toMatchObject({ after: 6, reason: 'its activation mixes the units' });
    expect(report.d.after).toBe(4);
    expect(report.d.reason).toMatch(/model output/);
  });

  test('bad arguments: errors name the argument', async () => {
    const model = tf.sequential({
      layers: [mePropDense({ inputShape: [IN], units: 4, k: 2, name: 'h' }), tf.layers.dense({ units: 2 })],
    });
    const activeness = { h: fakeActiveness(4, [0]) };
    for (const threshold of [-0.1, 1, 1.5, NaN, '0.1' as unknown as number]) {
      await expect(meSimplify(model, { threshold, activeness })).rejects.toThrow(
        /options\.threshold must be a number in \[0, 1\)/,
      );
    }
    for (const minUnits of [0, -1, 1.5]) {
      await expect(meSimplify(model, { threshold: 0.1, minUnits, activeness })).rejects.toThrow(
        /options\.minUnits must be an integer >= 1/,
      );
    }
    await expect(meSimplify(model, { threshold: 0.1, tresh: 1 } as unknown as { threshold: number })).rejects.toThrow(
      /options\.tresh is not an option/,
    );
    await expect(meSimplify(model, null as unknown as { threshold: number })).rejects.toThrow(/options must be an object/);
    await expect(meSimplify({} as tf.LayersModel, { threshold: 0.1 })).rejects.toThrow(/model must be a tf.LayersModel/);
    // Never trained with meProp: no tracker, or a tracker that saw no gradient.
    await expect(meSimplify(model, { threshold: 0.1 })).rejects.toThrow(/has no activeness: train it with meProp/);
    const tracker = trackActiveness(model);
    await expect(meSimplify(model, { threshold: 0.1 })).rejects.toThrow(/has no activeness/);
    tracker.dispose();
    await expect(meSimplify(model, { threshold: 0.1, activeness: { nope: fakeActiveness(4, []) } })).rejects.toThrow(
      /options\.activeness names layer 'nope'/,
    );
  });
});
