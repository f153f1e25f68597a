import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import {
  activeMePropConfig,
  enableMeProp,
  FUSED_MAT_MUL_TAPE_NAME,
  getMePropStats,
  MePropGradientSpec,
  mePropMatMul,
  registerMePropGradient,
  resetMePropStats,
  unregisterMePropGradient,
  withMeProp,
} from './index';
import { nonZeroColumns, operands, plainGrads, referenceGrads } from './test-helpers/reference';

function gradsOf(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: tf.Tensor, b: tf.Tensor, dy: tf.Tensor): tf.Tensor[] {
  return tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(f(x, w), dy)))([a, b]);
}

describeEachBackend('the meProp gradient registry', () => {
  beforeEach(() => resetMePropStats());

  it('applies to tf.matMul inside withMeProp and restores the original gradient afterwards', () => {
    const original = tf.getGradient('BatchMatMul');
    tf.tidy(() => {
      const { a, b, dy } = operands(7, 13, 29, false, false, 1);
      const [ra, rb] = referenceGrads(a, b, dy, 5, 'per-example', false, false);
      const [ma, mb] = withMeProp({ k: 5 }, () => gradsOf((x, w) => tf.matMul(x, w), a, b, dy));
      expectClose(ma, ra, 1e-5);
      expectClose(mb, rb, 1e-5);
      const [pa, pb] = gradsOf((x, w) => tf.matMul(x, w), a, b, dy);
      const [ea, eb] = plainGrads(a, b, dy, false, false);
      expectClose(pa, ea, 1e-6);
      expectClose(pb, eb, 1e-6);
    });
    expect(tf.getGradient('BatchMatMul')).toBe(original);
    expect(activeMePropConfig()).toBeNull();
  });

  it('restores when fn throws and when its promise rejects', async () => {
    const original = tf.getGradient('BatchMatMul');
    expect(() =>
      withMeProp({ k: 3 }, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tf.getGradient('BatchMatMul')).toBe(original);
    await expect(withMeProp({ k: 3 }, async () => Promise.reject(new Error('later')))).rejects.toThrow('later');
    expect(tf.getGradient('BatchMatMul')).toBe(original);
    await expect(withMeProp({ k: 3 }, async () => 7)).resolves.toBe(7);
    expect(activeMePropConfig()).toBeNull();
  });

  it('nests: the innermost scope applies, and ending it returns to the outer one', () => {
    tf.tidy(() => {
      const { a, b, dy } = operands(6, 9, 17, false, false, 2);
      const [, rb3] = referenceGrads(a, b, dy, 3, 'unified', false, false);
      const [, rb8] = referenceGrads(a, b, dy, 8, 'unified', false, false);
      withMeProp({ k: 8, mode: 'unified' }, () => {
        const inner = withMeProp({ k: 3, mode: 'unified' }, () => gradsOf((x, w) => tf.matMul(x, w), a, b, dy));
        expectClose(inner[1], rb3, 1e-5);
        expect(activeMePropConfig()?.k).toBe(8);
        expectClose(gradsOf((x, w) => tf.matMul(x, w), a, b, dy)[1], rb8, 1e-5);
      });
    });
    // Handles restored out of order still end cleanly.
    const h1 = enableMeProp({ k: 2 });
    const h2 = enableMeProp({ k: 4 });
    h1.restore();
    expect(activeMePropConfig()?.k).toBe(4);
    h2.restore();
    h2.restore();
    expect(activeMePropConfig()).toBeNull();
  });

  it(`overrides tf.fused.matMul (taped as '${FUSED_MAT_MUL_TAPE_NAME}'), with an exact bias gradient`, () => {
    tf.tidy(() => {
      for (const [tA, tB] of [
        [false, false],
        [true, true],
        [false, true],
        [true, false],
      ]) {
        // Square operands: the transposes cannot be told from shapes, so this checks the recorded attrs.
        const { a, b, dy } = operands(13, 13, 13, tA, tB, 3);
        const bias = tf.randomNormal([13], 0, 1, 'float32', 4);
        resetMePropStats();
        const [ga, gb, gbias] = withMeProp({ k: 4 }, () =>
          tf.grads((x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) =>
            tf.sum(
              tf.mul(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, transposeA: tA, transposeB: tB, bias: c }), dy),
            ),
          )([a, b, bias]),
        );
        // If tfjs renamed the taped op, meProp would silently not apply: this catches it.
        expect(getMePropStats().backwardCalls).toBe(1);
        const [ra, rb] = referenceGrads(a, b, dy, 4, 'per-example', tA, tB);
        expectClose(ga, ra, 1e-5);
        expectClose(gb, rb, 1e-5);
        expectClose(gbias, tf.sum(dy, 0), 1e-5);
      }
    });
  });

  describe('model.fit uses meProp in every Dense activation path', () => {
    it.each(['linear', 'sigmoid', 'softmax', 'tanh', 'relu'] as const)('activation %s', async (activation) => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            units: 24,
            inputShape: [10],
            activation,
            kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
          }),
          tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
      const x = tf.randomNormal([16, 10], 0, 1, 'float32', 5);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 16 }, (_, i) => i % 3),
          'int32',
        ),
        3,
      );
      const before = model.layers[0].getWeights()[0].clone();
      await withMeProp({ k: 4, mode: 'unified' }, () => model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 }));
      // The hidden Dense went through meProp (the 3-unit output layer has k >= width: exact), and its
      // kernel moved in exactly k columns.
      expect(getMePropStats().backwardCalls).toBe(1);
      const delta = tf.sub(model.layers[0].getWeights()[0], before);
      expect(nonZeroColumns(delta)).toBe(4);
      tf.dispose([x, y, before, delta]);
      model.dispose();
    });
  });

  describe('model.fit uses meProp in recurrent cells', () => {
    const make = (kind: 'lstm' | 'gru' | 'simpleRNN', seed: number): tf.LayersModel => {
      const args = {
        units: 8,
        kernelInitializer: tf.initializers.glorotNormal({ seed }),
        recurrentInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }),
      };
      const rnn = kind === 'lstm' ? tf.layers.lstm(args) : kind === 'gru' ? tf.layers.gru(args) : tf.layers.simpleRNN(args);
      const m = tf.sequential({
        layers: [
          tf.layers.inputLayer({ inputShape: [5, 4] }),
          rnn,
          tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }),
        ],
      });
      m.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      return m;
    };
    it.each(['lstm', 'gru', 'simpleRNN'] as const)('%s: meProp applies per time step, and k >= width is exact', async (kind) => {
      const x = tf.randomNormal([6, 5, 4], 0, 1, 'float32', 7);
      const y = tf.randomNormal([6, 2], 0, 1, 'float32', 8);
      const plain = make(kind, 10);
      const exact = make(kind, 10);
      const sparse = make(kind, 10);
      await plain.fit(x, y, { epochs: 1, batchSize: 6, verbose: 0, shuffle: false });
      await withMeProp({ k: 1000 }, () => exact.fit(x, y, { epochs: 1, batchSize: 6, verbose: 0, shuffle: false }));
      plain.getWeights().forEach((w, i) => expectClose(exact.getWeights()[i], w, 1e-5));
      resetMePropStats();
      await withMeProp({ k: 2 }, () => sparse.fit(x, y, { epochs: 1, batchSize: 6, verbose: 0, shuffle: false }));
      const stats = getMePropStats();
      // Gate matmuls of all 5 time steps (input and recurrent kernels), plus the Dense head.
      expect(stats.backwardCalls).toBeGreaterThanOrEqual(10);
      expect(stats.keptFraction).toBeLessThan(0.5);
      const differs = sparse.getWeights().some((w, i) => tf.max(tf.abs(tf.sub(w, plain.getWeights()[i]))).dataSync()[0] > 1e-6);
      expect(differs).toBe(true);
      tf.dispose([x, y]);
      [plain, exact, sparse].forEach((m) => m.dispose());
    });
  });

  describe('exclude: matmuls a scope leaves exact', () => {
    /** Hidden relu layer (BatchMatMul) and an output layer whose activation picks the path (fused for softmax/linear). */
    const make = (outActivation: 'softmax' | 'relu' | 'linear', seed = 1): tf.Sequential =>
      tf.sequential({
        layers: [
          tf.layers.dense({
            units: 12,
            inputShape: [6],
            activation: 'relu',
            name: `hid${seed}`,
            kernelInitializer: tf.initializers.glorotNormal({ seed }),
          }),
          tf.layers.dense({
            units: 9,
            activation: outActivation,
            name: `out${seed}`,
            kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 1 }),
          }),
        ],
      });
    /** Kernel gradients [hidden, out] of a squared loss against y. */
    const kernelGrads = (m: tf.Sequential, x: tf.Tensor, y: tf.Tensor): tf.Tensor[] =>
      tf.tidy(() => {
        const vars = [m.layers[0].trainableWeights[0].read(), m.layers[1].trainableWeights[0].read()] as tf.Variable[];
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(tf.sub(m.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar,
          vars,
        );
        return vars.map((v) => grads[v.name]);
      });

    it.each(['softmax', 'relu', 'linear'] as const)(
      "a layer named in exclude gets its exact gradient (output %s), the others meProp's",
      (act) => {
        const m = make(act);
        const x = tf.randomNormal([10, 6], 0, 1, 'float32', 3);
        const y = tf.randomNormal([10, 9], 0, 1, 'float32', 4);
        const [exactHidden, exactOut] = kernelGrads(m, x, y);
        const config = { k: 2, mode: 'unified' as const };
        const [sparseHidden, sparseOut] = withMeProp(config, () => kernelGrads(m, x, y));
        expect(nonZeroColumns(sparseOut)).toBe(2); // without exclude the output layer is sparsified too
        // Reference: the same network written with mePropMatMul for the hidden layer and tf.matMul for the output.
        const [w1, b1, w2, b2] = m.getWeights();
        const activate = (z: tf.Tensor) => (act === 'softmax' ? tf.softmax(z) : act === 'relu' ? tf.relu(z) : z);
        const [refHidden, refOut] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.sub(activate(tf.add(tf.matMul(tf.relu(tf.add(mePropMatMul(x, a, config), b1)), b), b2)), y))),
        )([w1, w2]);
        for (const exclude of [
          ['out1'],
          [(m.layers[1].trainableWeights[0].read() as tf.Variable).name],
          (n: string) => n.startsWith('out1/'),
          [m.layers[1].trainableWeights[0].read() as tf.Variable],
          [m.layers[1]],
        ]) {
          const [h, o] = withMeProp({ ...config, exclude }, () => kernelGrads(m, x, y));
          expectClose(o, refOut, 1e-5);
          expectClose(h, refHidden, 1e-5);
          expect(nonZeroColumns(h)).toBe(2);
        }
        expectClose(refOut, exactOut, 1e-5); // the output layer's gradient is exact: its inputs are the exact forward's
        expect(nonZeroColumns(exactHidden)).toBeGreaterThan(2);
        tf.dispose([refHidden, refOut]);
        tf.dispose([x, y, exactHidden, exactOut, sparseHidden, sparseOut]);
        m.dispose();
      },
    );

    it('applies through model.fit, nests with the innermost exclude, and restores Identity and Reshape', async () => {
      const kernels = ['Identity', 'Reshape', '_FusedMatMul'].map((n) => tf.getKernel(n, tf.getBackend()));
      const m = make('softmax', 5);
      m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const x = tf.randomNormal([8, 6], 0, 1, 'float32', 6);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 9);
      const before = m.layers[1].getWeights()[0].clone();
      await withMeProp({ k: 2, mode: 'unified', exclude: ['out5'] }, () => m.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 }));
      expect(nonZeroColumns(tf.sub(m.layers[1].getWeights()[0], before))).toBe(9); // exact: every column moved
      const inner = withMeProp({ k: 2, mode: 'unified', exclude: ['out5'] }, () =>
        withMeProp({ k: 2, mode: 'unified' }, () => kernelGrads(m, x, y)),
      );
      expect(nonZeroColumns(inner[1])).toBe(2); // the inner scope has no exclude
      expect(['Identity', 'Reshape', '_FusedMatMul'].map((n) => tf.getKernel(n, tf.getBackend()))).toEqual(kernels);
      tf.dispose([x, y, before, ...inner]);
      m.dispose();
    });

    it('does not leak tensors across 30 training steps with exclude', async () => {
      const m = make('softmax', 9);
      const opt = tf.train.adam(0.01);
      const x = tf.randomNormal([8, 6], 0, 1, 'float32', 10);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 9);
      const step = () =>
        withMeProp({ k: 2, mode: 'unified', exclude: ['out9'] }, () => {
          opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar);
        });
      const { after1, afterN } = await tensorCountAfter(step, 30);
      expect(afterN).toBe(after1);
      tf.dispose([x, y]);
      opt.dispose();
      m.dispose();
    });

    it('rejects a bad exclude naming the entry', () => {
      const m = make('softmax', 7);
      expect(() => withMeProp({ k: 2, exclude: 'out7' as never }, () => 0)).toThrow(
        /config\.exclude must be an array of layer or variable names.*got 'out7'/,
      );
      expect(() => withMeProp({ k: 2, exclude: ['out7', ''] }, () => 0)).toThrow(
        /config\.exclude\[1\] must be a layer, a non-empty layer or variable name.*got ''/,
      );
      expect(() => withMeProp({ k: 2, exclude: [3 as never] }, () => 0)).toThrow(/config\.exclude\[0\].*got 3/);
      expect(() => withMeProp({ k: 2, exclude: ['ouut7'] }, () => 0)).toThrow(
        /config\.exclude\[0\]: 'ouut7' matches no variable/,
      );
      expect(activeMePropConfig()).toBeNull();
      m.dispose();
    });
  });

  it('does not leak tensors across 50 training steps under withMeProp', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 32, inputShape: [20], activation: 'relu' }),
        tf.layers.dense({ units: 4, activation: 'softmax' }),
      ],
    });
    const opt = tf.train.adam(0.01);
    const x = tf.randomNormal([8, 20], 0, 1, 'float32', 9);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
    const step = () =>
      withMeProp({ k: 5, mode: 'unified' }, () => {
        opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar);
      });
    const { after1, afterN } = await tensorCountAfter(step, 50);
    expect(afterN).toBe(after1);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('collects stats from shapes: calls, kept fraction, dense and sparse multiply-adds', () => {
    tf.tidy(() => {
      const { a, b, dy } = operands(8, 10, 20, false, false, 11);
      withMeProp({ k: 5 }, () => gradsOf((x, w) => tf.matMul(x, w), a, b, dy));
    });
    expect(getMePropStats()).toEqual({
      backwardCalls: 1,
      keptFraction: 5 / 20,
      denseMacs: 2 * 8 * 10 * 20,
      sparseMacs: 2 * 8 * 10 * 5,
    });
    resetMePropStats();
    expect(getMePropStats()).toEqual({ backwardCalls: 0, keptFraction: 0, denseMacs: 0, sparseMacs: 0 });
  });

  it('is open: registerMePropGradient adds meProp for another kernel, only while enabled', () => {
    const calls: number[] = [];
    const spec: MePropGradientSpec = {
      kernelName: 'Square',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, _attrs, runtime) => {
        calls.push(runtime === null ? -1 : runtime.config.k);
        // A toy sparsified gradient: 2x*dy, with entries below the k-th largest |dy| zeroed.
        const d = dy as tf.Tensor;
        const threshold = tf.min(tf.topk(tf.abs(d), runtime?.config.k ?? d.size).values);
        return { x: () => tf.mul(tf.mul(tf.mul(saved[0], 2), d), tf.cast(tf.greaterEqual(tf.abs(d), threshold), 'float32')) };
      },
    };
    const original = tf.getGradient('Square');
    registerMePropGradient(spec);
    try {
      tf.tidy(() => {
        const x = tf.tensor1d([1, 2, 3, 4]);
        const dy = tf.tensor1d([0.1, -4, 0.2, 3]);
        const g = withMeProp({ k: 2 }, () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.square(v), dy)))(x));
        expect(Array.from(g.dataSync())).toEqual([0, -16, 0, 24]);
        const plain = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.square(v), dy)))(x);
        expectClose(plain, tf.tensor1d([0.2, -16, 1.2, 24]), 1e-6);
      });
      expect(calls).toEqual([2]);
      expect(tf.getGradient('Square')).toBe(original);
    } finally {
      unregisterMePropGradient('Square');
    }
    expect(() => unregisterMePropGradient('Square')).toThrow(/no meProp gradient is registered for kernelName 'Square'/);
    expect(() => registerMePropGradient({ kernelName: '', gradFunc: spec.gradFunc })).toThrow(
      /spec\.kernelName must be a non-empty string/,
    );
  });

  it('rejects a bad config naming the argument and value', () => {
    expect(() => enableMeProp({ k: -1 })).toThrow(/config\.k must be > 0.*got -1/);
    expect(() => withMeProp({ k: 5, mode: 'sorted' as never }, () => 0)).toThrow(/config\.mode must be one of.*got 'sorted'/);
    expect(activeMePropConfig()).toBeNull();
  });
});
