import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import { mePropMatMul, MePropConfig } from '@meprop/core';
import { LazyOptimizer, mePropify, sparseAdagrad, sparseAdam, SparseAdagradOptimizer, sparseSgd } from '../index';
import { compositeLazyUpdate } from './composite_update';
import { MePropSparseLazyUpdate, MePropSparseLazyUpdateInPlace } from './sparse_update_kernel';

type Pair = { name: string; sparse: () => LazyOptimizer; dense: () => tf.Optimizer };
const PAIRS: Pair[] = [
  { name: 'adam', sparse: () => sparseAdam(0.01), dense: () => tf.train.adam(0.01) },
  { name: 'adagrad', sparse: () => sparseAdagrad(0.05), dense: () => tf.train.adagrad(0.05) },
  { name: 'sgd', sparse: () => sparseSgd(0.1), dense: () => tf.train.sgd(0.1) },
];

/** A [6, 5] weight and a [5] bias, updated `steps` times with gradients from gradFn(step). */
function run(opt: tf.Optimizer, steps: number, gradFn: (step: number) => { w: tf.Tensor; b: tf.Tensor }, prefix: string) {
  const w = tf.variable(tf.randomNormal([6, 5], 0, 1, 'float32', 1), true, `${prefix}_w`);
  const b = tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2), true, `${prefix}_b`);
  for (let s = 0; s < steps; s++) {
    const g = gradFn(s);
    opt.applyGradients({ [w.name]: g.w, [b.name]: g.b });
    tf.dispose([g.w, g.b]);
  }
  return { w, b };
}

let uid = 0;
const name = (s: string) => `${s}_${uid++}`;

/** Gradients whose weight part is non-zero only in `cols` (all columns when null). */
function grads(step: number, cols: number[] | null) {
  return tf.tidy(() => {
    const full = tf.randomNormal([6, 5], 0, 1, 'float32', 10 + step);
    const mask = tf.tensor1d([0, 1, 2, 3, 4].map((j) => (cols === null || cols.includes(j) ? 1 : 0)));
    return { w: tf.mul(full, mask), b: tf.randomNormal([5], 0, 1, 'float32', 50 + step) };
  });
}

describeEachBackend('sparse optimizers', () => {
  test.each(PAIRS)('$name: equals the dense optimizer when every column gets a gradient (1e-6)', ({ sparse, dense }) => {
    const a = run(sparse(), 5, (s) => grads(s, null), name('s'));
    const b = run(dense(), 5, (s) => grads(s, null), name('d'));
    expectClose(a.w, b.w, 1e-6);
    expectClose(a.b, b.b, 1e-6);
    tf.dispose([a.w, a.b, b.w, b.b]);
  });

  test('adam: skipped columns keep their weights and slots; touched columns follow Adam', async () => {
    const opt = sparseAdam(0.01);
    const ref = tf.train.adam(0.01);
    // Step 1 touches every column, steps 2-3 only columns 1 and 3.
    const pattern = (s: number) => (s === 0 ? null : [1, 3]);
    const a = run(opt, 1, (s) => grads(s, pattern(s)), name('s'));
    const w1 = a.w.clone();
    const slots1 = (await opt.getWeights()).slice(1).map((x) => x.tensor.clone());
    for (let s = 1; s < 3; s++) {
      const g = grads(s, pattern(s));
      opt.applyGradients({ [a.w.name]: g.w, [a.b.name]: g.b });
      tf.dispose([g.w, g.b]);
    }
    const slots3 = (await opt.getWeights()).slice(1).map((x) => x.tensor);
    const cols = (t: tf.Tensor, js: number[]) => tf.gather(t, js, 1);
    // Columns 0, 2, 4 of w, and of its m and v (slot 0 and 2 are w's m and v: tfjs's order m..., v...).
    expectClose(cols(a.w, [0, 2, 4]), cols(w1, [0, 2, 4]), 0);
    expectClose(cols(slots3[0], [0, 2, 4]), cols(slots1[0], [0, 2, 4]), 0);
    expectClose(cols(slots3[2], [0, 2, 4]), cols(slots1[2], [0, 2, 4]), 0);
    expect(tf.max(tf.abs(tf.sub(cols(a.w, [1, 3]), cols(w1, [1, 3])))).dataSync()[0]).toBeGreaterThan(0);
    // Touched columns: per-column Adam with the global step, i.e. tf.train.adam run on those columns alone.
    const r = run(ref, 3, (s) => grads(s, pattern(s)), name('d'));
    expectClose(cols(a.w, [1, 3]), cols(r.w, [1, 3]), 1e-6);
    expectClose(a.b, r.b, 1e-6); // biases: dense update
    // tf.train.adam keeps moving the untouched columns (momentum), sparseAdam does not.
    expect(tf.max(tf.abs(tf.sub(cols(r.w, [0, 2, 4]), cols(w1, [0, 2, 4])))).dataSync()[0]).toBeGreaterThan(0);
  });

  test.each(PAIRS)('$name: a zero-gradient column is untouched (weights and slots)', async ({ sparse }) => {
    const opt = sparse();
    const a = run(opt, 1, (s) => grads(s, [0, 2]), name('s'));
    const w0 = tf.randomNormal([6, 5], 0, 1, 'float32', 1);
    expectClose(tf.gather(a.w, [1, 3, 4], 1), tf.gather(w0, [1, 3, 4], 1), 0);
    const slots = (await opt.getWeights()).slice(1);
    for (const s of slots.filter((x) => x.name.startsWith(a.w.name))) {
      // (instanceof is useless here: tf.Optimizer's Symbol.hasInstance accepts any optimizer.)
      const init = opt.getClassName() === SparseAdagradOptimizer.className ? 0.1 : 0;
      expect([s.name, tf.gather(s.tensor, [1, 3, 4], 1).arraySync()]).toEqual([s.name, tf.fill([6, 3], init).arraySync()]);
    }
  });

  test.each(['adam', 'adagrad', 'sgd'] as const)('composite fallback (%s) equals the kernel', (rule) => {
    if (tf.getKernel('MePropLazyUpdate', tf.getBackend()) === undefined) {
      // No kernel here: the optimizers ran the composite path in the tests above.
      expect(['cpu', 'wasm', 'tensorflow']).not.toContain(tf.getBackend());
      return;
    }
    const value = tf.randomNormal([4, 6], 0, 1, 'float32', 3);
    const g = tf.mul(tf.randomNormal([4, 6], 0, 1, 'float32', 4), tf.tensor1d([1, 0, 1, 0, 0, 1]));
    const slots =
      rule === 'adam'
        ? [tf.randomUniform([4, 6], 0, 1, 'float32', 5), tf.randomUniform([4, 6], 0, 1, 'float32', 6)]
        : rule === 'adagrad'
          ? [tf.randomUniform([4, 6], 0, 1, 'float32', 7)]
          : [];
    const attrs = {
      rule,
      learningRate: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      correction1: 0.19,
      correction2: 0.002,
      rows: 4,
      cols: 6,
      lazy: true,
    };
    const inputs: tf.NamedTensorMap = { value, grad: g };
    slots.forEach((s, i) => (inputs[`slot${i}`] = s));
    const viaKernel = tf.engine().runKernel('MePropLazyUpdate', inputs, attrs) as tf.Tensor[];
    const viaOps = compositeLazyUpdate(value, g, slots, attrs);
    viaOps.forEach((t, i) => expectClose(viaKernel[i], t, 1e-6));
    expectClose(tf.gather(viaOps[0], [1, 3, 4], 1), tf.gather(value, [1, 3, 4], 1), 0);
  });

  test('in model.compile and model.fit, without tensor leaks', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    model.compile({ optimizer: sparseAdam(1e-2), loss: 'meanSquaredError' });
    const x = tf.randomNormal([8, 4]);
    const y = tf.randomNormal([8, 3]);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const n = tf.memory().numTensors;
    await model.fit(x, y, { epochs: 5, batchSize: 4, verbose: 0 });
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([x, y]);
  });

  test('getConfig/fromConfig and getWeights/setWeights round trips', async () => {
    for (const opt of [sparseAdam(0.003, 0.8, 0.95, 1e-6), sparseAdagrad(0.2, 0.3), sparseSgd(0.4)]) {
      expect(opt.getClassName()).toMatch(/^MeProp>/);
      const [ctor, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[opt.getClassName()];
      const again = fromConfig(ctor, opt.getConfig());
      expect(Object.getPrototypeOf(again)).toBe(Object.getPrototypeOf(opt));
      expect((again as tf.Optimizer).getConfig()).toEqual(opt.getConfig());
    }
    // Slots saved by one optimizer and loaded into a fresh one continue identically.
    const opt = sparseAdam(0.01);
    const a = run(opt, 2, (s) => grads(s, [1, 3]), name('s'));
    const fresh = sparseAdam(0.01);
    await fresh.setWeights(await opt.getWeights());
    expect(fresh.iterations).toBe(2);
    const start = a.w.clone();
    const g = grads(7, [1, 2]);
    opt.applyGradients({ [a.w.name]: g.w });
    const viaOriginal = a.w.clone();
    a.w.assign(start);
    fresh.applyGradients([{ name: a.w.name, tensor: g.w }]);
    expectClose(a.w, viaOriginal, 0);
    tf.dispose([start, viaOriginal, g.w, g.b]);
  });

  test('bad arguments throw Errors naming the argument and value', () => {
    expect(() => sparseAdam(-1)).toThrow(/learningRate must be a number > 0, got -1/);
    expect(() => sparseAdam(0.1, 1)).toThrow(/beta1 must be a number in \[0, 1\), got 1/);
    expect(() => sparseAdam(0.1, 0.9, NaN)).toThrow(/beta2 .*got NaN/);
    expect(() => sparseAdagrad(0)).toThrow(/sparseAdagrad: learningRate must be a number > 0, got 0/);
    expect(() => sparseSgd('a' as unknown as number)).toThrow(/sparseSgd: learningRate .*"a"/);
  });

  describe('minimize with meProp gradients (sparse slices on backends with a sparse step)', () => {
    const UNIFIED: MePropConfig = { k: 3, mode: 'unified' };
    /** W [5, 8] (and a bias), used once by a unified meProp product, or twice (shared, like an RNN kernel). */
    function setup(shared: boolean, seed: number) {
      const w = tf.variable(tf.randomNormal([5, 8], 0, 0.5, 'float32', seed), true, name('mw'));
      const w2 = tf.variable(tf.randomNormal([8, 5], 0, 0.5, 'float32', seed + 1), true, name('mw2'));
      const b = tf.variable(tf.zeros([8]), true, name('mb'));
      const vars = shared ? [w, w2, b] : [w, b];
      const loss = (step: number) => () =>
        tf.tidy(() => {
          const x = tf.randomNormal([6, 5], 0, 1, 'float32', 100 + step);
          let h = tf.add(mePropMatMul(x, w, UNIFIED), b);
          if (shared) h = tf.add(mePropMatMul(tf.tanh(mePropMatMul(tf.tanh(h), w2, { k: 2, mode: 'unified' })), w, UNIFIED), b);
          return tf.mean(tf.square(tf.sub(h, tf.randomNormal([6, 8], 0, 1, 'float32', 200 + step)))) as tf.Scalar;
        });
      return { vars, loss };
    }

    test.each(PAIRS.flatMap((p) => [false, true].map((shared) => ({ ...p, shared }))))(
      '$name (shared weight: $shared): equals the dense lazy step on the same gradients, weights and slots (1e-6)',
      async ({ sparse, shared }) => {
        const a = setup(shared, 1);
        const d = setup(shared, 1);
        const viaMinimize = sparse();
        const viaDense = sparse();
        const runKernel = jest.spyOn(tf.engine(), 'runKernel');
        for (let step = 0; step < 3; step++) {
          viaMinimize.minimize(a.loss(step), false, a.vars);
          const { value, grads } = tf.variableGrads(d.loss(step), d.vars);
          viaDense.applyGradients(d.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
          tf.dispose([value, ...Object.values(grads)]);
        }
        const sparseSteps = runKernel.mock.calls.filter(
          (c) => c[0] === MePropSparseLazyUpdate || c[0] === MePropSparseLazyUpdateInPlace,
        ).length;
        runKernel.mockRestore();
        // On tensorflow every step of the meProp weights goes through the sparse kernel; elsewhere none does.
        expect(sparseSteps).toBe(tf.getBackend() === 'tensorflow' ? 3 * (shared ? 2 : 1) : 0);
        a.vars.forEach((v, i) => expectClose(v, d.vars[i], 1e-6));
        const [sa, sd] = [await viaMinimize.getWeights(), await viaDense.getWeights()];
        expect(sa.length).toBe(sd.length);
        sa.forEach((x, i) => expectClose(x.tensor, sd[i].tensor, 1e-6));
        // Not vacuous: the weights moved, in a few columns only (the dense slot of an untouched column is 0).
        expect(tf.max(tf.abs(tf.sub(a.vars[0], tf.randomNormal([5, 8], 0, 0.5, 'float32', 1)))).dataSync()[0]).toBeGreaterThan(
          1e-4,
        );
      },
    );

    test('sparse, dense and sparse steps in turn equal dense steps, and the slots read back on another backend', async () => {
      const a = setup(false, 1);
      const d = setup(false, 1);
      const viaMinimize = sparseAdam(0.01);
      const viaDense = sparseAdam(0.01);
      const dense = (setupOf: ReturnType<typeof setup>, opt: tf.Optimizer, step: number) => {
        const { value, grads } = tf.variableGrads(setupOf.loss(step), setupOf.vars);
        opt.applyGradients(setupOf.vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
        tf.dispose([value, ...Object.values(grads)]);
      };
      for (let step = 0; step < 4; step++) {
        // Steps 0 and 2 through minimize (sparse slices on tensorflow: slots in resource variables), 1 and 3 dense
        // (the slots come back as tfjs variables), so every change of the slots' storage is exercised.
        if (step % 2 === 0) viaMinimize.minimize(a.loss(step), false, a.vars);
        else dense(a, viaMinimize, step);
        dense(d, viaDense, step);
      }
      viaMinimize.minimize(a.loss(4), false, a.vars);
      dense(d, viaDense, 4);
      const backend = tf.getBackend();
      if (backend === 'tensorflow') await tf.setBackend('cpu'); // the slots still live in TensorFlow
      try {
        const [sa, sd] = [await viaMinimize.getWeights(), await viaDense.getWeights()];
        expect(sa.map((x) => x.name.replace(/_\d+/, ''))).toEqual(sd.map((x) => x.name.replace(/_\d+/, '')));
        sa.forEach((x, i) => expectClose(x.tensor, sd[i].tensor, 1e-6));
        a.vars.forEach((v, i) => expectClose(v, d.vars[i], 1e-6));
      } finally {
        await tf.setBackend(backend);
      }
      viaMinimize.dispose();
      viaDense.dispose();
    });

    test('an LSTM (kernels used at every time step): minimize through model.fit equals the dense lazy step', async () => {
      const build = () => {
        const base = tf.sequential({
          layers: [
            tf.layers.lstm({
              inputShape: [5, 6],
              units: 8,
              kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
              recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
            }),
            tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
          ],
        });
        return mePropify(base, { k: 3, mode: 'unified' }).model;
      };
      const x = tf.randomNormal([8, 5, 6], 0, 1, 'float32', 7);
      const y = tf.randomNormal([8, 3], 0, 1, 'float32', 8);
      const viaFit = build();
      const opt = sparseAdam(0.01);
      viaFit.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const runKernel = jest.spyOn(tf.engine(), 'runKernel');
      await viaFit.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
      const sparseSteps = runKernel.mock.calls.filter(
        (c) => c[0] === MePropSparseLazyUpdate || c[0] === MePropSparseLazyUpdateInPlace,
      ).length;
      runKernel.mockRestore();
      // Reference: the same steps with dense gradients through applyGradients.
      const viaDense = build();
      const ref = sparseAdam(0.01);
      const vars = viaDense.trainableWeights.map((w) => w.read() as tf.Variable);
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(
          () => tf.losses.meanSquaredError(y, viaDense.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          vars,
        );
        ref.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
        tf.dispose([value, ...Object.values(grads)]);
      }
      // kernel and recurrent kernel of the LSTM, every step, on tensorflow (merged over the 5 time steps).
      expect(sparseSteps).toBe(tf.getBackend() === 'tensorflow' ? 3 * 2 : 0);
      viaFit.trainableWeights.forEach((w, i) => expectClose(w.read(), viaDense.trainableWeights[i].read(), 1e-5));
      tf.dispose([x, y]);
    });

    test('model.fit of a mePropify model with sparseAdam: no leaked tensors, the loss goes down', async () => {
      const base = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [12], units: 16, activation: 'relu' }),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      const { model } = mePropify(base, { k: 4, mode: 'unified' });
      model.compile({ optimizer: sparseAdam(0.01), loss: 'categoricalCrossentropy' });
      const x = tf.randomNormal([32, 12], 0, 1, 'float32', 5);
      const y = tf.oneHot(tf.argMax(tf.matMul(x, tf.randomNormal([12, 3], 0, 1, 'float32', 6)), 1), 3);
      const first = (await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 })).history.loss[0] as number;
      const { after1, afterN } = await tensorCountAfter(async () => {
        await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
      }, 10);
      expect(afterN).toBe(after1);
      const last = (await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 })).history.loss[0] as number;
      expect(last).toBeLessThan(first);
      tf.dispose([x, y]);
    });
  });
});
