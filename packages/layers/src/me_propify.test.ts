import * as tf from '@tensorflow/tfjs';
import { getMePropStats, hasMePropKernels, resetMePropStats } from '@meprop/core';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { mePropify, sparseAdam } from './index';
import { lstmClassifier, maxAbsDiff, mlp, nonZeroColumns, oneHotLabels, tokens, weightGrads } from './test-helpers/models';

/** One fit step with SGD; returns the new weights. */
async function sgdStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, lr = 0.1): Promise<tf.Tensor[]> {
  model.compile({ optimizer: tf.train.sgd(lr), loss: 'categoricalCrossentropy' });
  await model.fit(x, y, { epochs: 1, batchSize: x.shape[0], shuffle: false, verbose: 0 });
  return model.getWeights();
}

describeEachBackend('mePropify', (backend) => {
  describe('784-500-500-10 MLP', () => {
    let original: tf.Sequential;
    let x: tf.Tensor;
    let y: tf.Tensor;
    beforeAll(() => {
      original = mlp();
      x = tf.randomUniform([8, 784], 0, 1, 'float32', 11);
      y = oneHotLabels(8, 10, 12);
    });

    test('converts the hidden Dense layers, leaves the output exact, forward identical', () => {
      const { model, report } = mePropify(original, { k: 20 });
      expect(report.converted).toEqual([
        { name: 'hidden1', className: 'Dense', k: 20, mode: 'per-example', width: 500, kept: 20, exact: false },
        { name: 'hidden2', className: 'Dense', k: 20, mode: 'per-example', width: 500, kept: 20, exact: false },
      ]);
      expect(report.skipped).toEqual([{ name: 'out', className: 'Dense', reason: expect.stringMatching(/output layer/) }]);
      expect(model.layers.map((l) => l.getClassName())).toEqual(['MeProp>Dense', 'MeProp>Dense', 'Dense']);
      const p = original.predict(x) as tf.Tensor;
      const q = model.predict(x) as tf.Tensor;
      if (backend === 'cpu') expect(maxAbsDiff(p, q)).toBe(0);
      else expectClose(q, p, 1e-6);
      model.dispose();
    });

    test('with k >= width one fit step gives tfjs weights (1e-5); the original is untouched', async () => {
      const before = original.getWeights().map((w) => w.clone());
      const { model } = mePropify(original, { k: 500, outputK: 10 });
      const a = await sgdStep(model, x, y);
      const reference = mlp();
      const b = await sgdStep(reference, x, y);
      a.forEach((w, i) => expectClose(w, b[i], 1e-5));
      original.getWeights().forEach((w, i) => expect(maxAbsDiff(w, before[i])).toBe(0));
      model.dispose();
      reference.dispose();
    });

    test('per-example, small k: each example moves at most k columns of each hidden kernel', async () => {
      const { model } = mePropify(original, { k: 20 });
      for (let i = 0; i < 2; i++) {
        const xi = tf.slice(x, [i, 0], [1, -1]);
        const yi = tf.slice(y, [i, 0], [1, -1]);
        const g = weightGrads(model, xi, yi);
        for (const kernel of [g[0], g[2]]) {
          const n = nonZeroColumns(kernel).length;
          expect(n).toBeGreaterThan(0);
          expect(n).toBeLessThanOrEqual(20);
        }
      }
      // Measured through the weight change of a real fit step with SGD, too.
      const w0 = model.getWeights();
      const w1 = await sgdStep(model, tf.slice(x, [2, 0], [1, -1]), tf.slice(y, [2, 0], [1, -1]));
      expect(nonZeroColumns(tf.sub(w1[2], w0[2])).length).toBeLessThanOrEqual(20);
      model.dispose();
    });

    test('unified, small k: exactly k columns of each hidden kernel gradient for the batch', () => {
      const { model } = mePropify(original, { k: 20, mode: 'unified' });
      const g = weightGrads(model, x, y);
      expect(nonZeroColumns(g[0]).length).toBe(20);
      expect(nonZeroColumns(g[2]).length).toBe(20);
      expect(nonZeroColumns(g[4]).length).toBe(10); // exact output layer
      model.dispose();
    });

    test('the first layer computes no input gradient (kernels counted with tf.profile)', async () => {
      const small = mlp([30, 20, 20, 4]);
      const { model } = mePropify(small, { k: 3 });
      const xs = tf.randomUniform([6, 30], 0, 1, 'float32', 41);
      const ys = oneHotLabels(6, 4, 42);
      const info = await tf.profile(() => tf.dispose(weightGrads(model, xs, ys)));
      const count = (name: string) => info.kernels.filter((k) => k.name === name).length;
      if (hasMePropKernels()) {
        // Two meProp layers: both compute dW, only the second computes dx (the first one's input is data).
        expect(count('MePropSparseGradB')).toBe(2);
        expect(count('MePropSparseGradA')).toBe(1);
      }
      // Against plain tfjs on the same model: the converted model runs no more matmul-like kernels.
      const plainInfo = await tf.profile(() => tf.dispose(weightGrads(small, xs, ys)));
      const products = (names: string[]) => names.filter((n) => /MatMul|SparseGrad/.test(n)).length;
      expect(products(info.kernels.map((k) => k.name))).toBeLessThanOrEqual(products(plainInfo.kernels.map((k) => k.name)));
      tf.dispose([xs, ys]);
      model.dispose();
      small.dispose();
    });

    test('the copy shares no weight memory with the original', () => {
      const { model } = mePropify(original, { k: 20 });
      const w = model.getWeights()[0] as tf.Variable;
      const o = original.getWeights()[0];
      expect(w.dataId).not.toBe(o.dataId);
      model.dispose();
    });
  });

  describe('LSTM text classifier (Embedding -> LSTM -> Dense)', () => {
    const T = 6;
    let original: tf.LayersModel;
    let x: tf.Tensor;
    let y: tf.Tensor;
    beforeAll(() => {
      // tfjs's wasm backend cannot back-propagate into an embedding (no UnsortedSegmentSum kernel).
      original = lstmClassifier(50, T, 8, 16, 3, 1, backend !== 'wasm');
      x = tokens(4, T, 50, 21);
      y = oneHotLabels(4, 3, 22);
    });

    test('forward identical, report lists the embedding as skipped', () => {
      const { model, report } = mePropify(original, { k: 4 });
      expect(report.converted.map((c) => [c.name, c.className])).toEqual([['lstm', 'LSTM']]);
      expect(report.skipped.map((s) => s.name).sort()).toEqual(['embed', 'out', 'tokens']);
      expect(model.getLayer('lstm').getClassName()).toBe('MeProp>LSTM');
      expectClose(model.predict(x) as tf.Tensor, original.predict(x) as tf.Tensor, 1e-6);
      model.dispose();
    });

    test('with k >= 4*units one fit step gives tfjs weights (1e-5)', async () => {
      const { model } = mePropify(original, { k: 64 });
      const a = await sgdStep(model, x, y, 0.5);
      const b = await sgdStep(lstmClassifier(50, T, 8, 16, 3, 1, backend !== 'wasm'), x, y, 0.5);
      a.forEach((w, i) => expectClose(w, b[i], 1e-5));
      model.dispose();
    });

    test('small k: per example, the LSTM kernels get at most T*k gradient columns', () => {
      const k = 3;
      const { model } = mePropify(original, { k });
      resetMePropStats();
      const g = weightGrads(model, tf.slice(x, [0, 0], [1, -1]), tf.slice(y, [0, 0], [1, -1]));
      expect(getMePropStats().backwardCalls).toBeGreaterThan(0);
      // trainable weights: [embeddings], kernel, recurrent kernel, bias, out kernel, out bias
      const o = backend === 'wasm' ? 0 : 1;
      for (const kernel of [g[o], g[o + 1]]) {
        const n = nonZeroColumns(kernel).length;
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThanOrEqual(T * k);
      }
      model.dispose();
    });
  });

  test('options: outputK converts the output layer, overrides set or exclude layers', () => {
    const m = mlp([20, 16, 16, 4]);
    const { model, report } = mePropify(m, {
      k: 8,
      mode: 'unified',
      outputK: 2,
      overrides: { hidden1: { k: 3, mode: 'per-example' }, hidden2: false },
    });
    expect(report.converted).toEqual([
      { name: 'hidden1', className: 'Dense', k: 3, mode: 'per-example', width: 16, kept: 3, exact: false },
      { name: 'out', className: 'Dense', k: 2, mode: 'unified', width: 4, kept: 2, exact: false },
    ]);
    expect(report.skipped).toEqual([{ name: 'hidden2', className: 'Dense', reason: expect.stringMatching(/overrides: false/) }]);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['MeProp>Dense', 'Dense', 'MeProp>Dense']);
    // Already meProp: left alone.
    expect(
      mePropify(model, { k: 5 })
        .report.skipped.filter((s) => /already/.test(s.reason))
        .map((s) => s.name),
    ).toEqual(['hidden1', 'out']);
  });

  test('converts tf.layers.rnn cells, wrapped layers and layers of nested models', () => {
    const inner = tf.sequential({ name: 'inner', layers: [tf.layers.dense({ inputShape: [4], units: 6, name: 'innerDense' })] });
    const input = tf.input({ shape: [3, 4] });
    const seq = tf.layers
      .rnn({ cell: tf.layers.gruCell({ units: 4 }), returnSequences: true, name: 'rnn' })
      .apply(input) as tf.SymbolicTensor;
    const bi = tf.layers
      .bidirectional({ layer: tf.layers.lstm({ units: 2 }) as tf.RNN, name: 'bi' })
      .apply(seq) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'head' }).apply(inner.apply(bi) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    const { model, report } = mePropify(m, { k: 2 });
    expect(report.converted.map((c) => [c.name, c.className]).sort()).toEqual([
      ['bi', 'Bidirectional(LSTM)'],
      ['innerDense', 'Dense'],
      ['rnn', 'RNN'],
    ]);
    expect(report.skipped.find((s) => s.name === 'inner')?.reason).toMatch(/nested model/);
    expect(report.skipped.find((s) => s.name === 'head')?.reason).toMatch(/output layer/);
    const rnn = model.getLayer('rnn') as tf.RNN;
    expect(rnn.cell.getClassName()).toBe('MeProp>GRUCell');
    const biConfig = model.getLayer('bi').getConfig() as { layer: { className: string } };
    expect(biConfig.layer.className).toBe('MeProp>LSTM');
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 5);
    expectClose(model.predict(x) as tf.Tensor, m.predict(x) as tf.Tensor, 1e-6);
  });

  test('bad options throw Errors naming the option and value', () => {
    const m = mlp([6, 5, 3]);
    expect(() => mePropify(m, { k: 0 })).toThrow(/options\.k must be > 0.*got 0/);
    expect(() => mePropify(m, { k: -3 })).toThrow(/options\.k must be > 0.*got -3/);
    expect(() => mePropify(m, { k: NaN })).toThrow(/options\.k must be a finite number.*got NaN/);
    expect(() => mePropify(m, { k: 2, mode: 'fast' as 'unified' })).toThrow(/options\.mode must be one of .*got 'fast'/);
    expect(() => mePropify(m, { k: 2, outputK: 0 })).toThrow(/outputK.*k must be > 0.*got 0/);
    expect(() => mePropify(m, { k: 2, overrides: { nope: false } })).toThrow(/options\.overrides names an unknown layer 'nope'/);
    expect(() => mePropify(m, { k: 2, overrides: { hidden1: { k: -1 } } })).toThrow(
      /options\.overrides\['hidden1'\]\.k must be > 0.*got -1/,
    );
    expect(() => mePropify(m, { k: 2, overrides: { hidden1: true as unknown as false } })).toThrow(
      /options\.overrides\['hidden1'\] must be false or a partial config.*got true/,
    );
    expect(() => mePropify(m, { k: 2, kk: 3 } as unknown as { k: number })).toThrow(/options\.kk is not an option/);
    expect(() => mePropify({} as tf.LayersModel, { k: 2 })).toThrow(/original must be a tf\.LayersModel/);
  });

  test('no tensor leaks across 50 fit batches (sparseAdam, unified)', async () => {
    const { model } = mePropify(mlp([30, 40, 40, 5]), { k: 4, mode: 'unified' });
    model.compile({ optimizer: sparseAdam(1e-3), loss: 'categoricalCrossentropy' });
    const xs = tf.randomUniform([50 * 4, 30], 0, 1, 'float32', 31);
    const ys = oneHotLabels(50 * 4, 5, 32);
    const counts: number[] = [];
    await model.fit(xs, ys, {
      epochs: 1,
      batchSize: 4,
      verbose: 0,
      callbacks: { onBatchEnd: async (batch) => void ((batch === 0 || batch === 49) && counts.push(tf.memory().numTensors)) },
    });
    expect(counts).toHaveLength(2);
    expect(counts[1]).toBe(counts[0]);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

/** tfjs-examples' addition-rnn model (encoder LSTM, RepeatVector, decoder LSTM, TimeDistributed(Dense), softmax), written anew. */
function additionRnn(digits = 2, vocab = 12, hidden = 16): tf.Sequential {
  const maxLen = 2 * digits + 1;
  const m = tf.sequential({ name: 'additionRnn' });
  m.add(
    tf.layers.lstm({
      units: hidden,
      inputShape: [maxLen, vocab],
      name: 'encoder',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.repeatVector({ n: digits + 1, name: 'repeat' }));
  m.add(
    tf.layers.lstm({
      units: hidden,
      returnSequences: true,
      name: 'decoder',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  m.add(
    tf.layers.timeDistributed({
      layer: tf.layers.dense({ units: vocab, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      name: 'logits',
    }),
  );
  m.add(tf.layers.activation({ activation: 'softmax', name: 'softmax' }));
  return m;
}

describeEachBackend('mePropify: output layers, report, errors', (backend) => {
  test('addition-rnn: TimeDistributed(Dense) before the softmax Activation is an output layer and stays exact', () => {
    const original = additionRnn();
    const { model, report } = mePropify(original, { k: 4 });
    expect(report.converted.map((c) => [c.name, c.className, c.width, c.kept])).toEqual([
      ['encoder', 'LSTM', 64, 4],
      ['decoder', 'LSTM', 64, 4],
    ]);
    expect(report.skipped.find((s) => s.name === 'logits')?.reason).toMatch(/output layer/);
    expect((model.getLayer('logits').getConfig() as { layer: { className: string } }).layer.className).toBe('Dense');
    // Exact really means exact: the logits kernel gets tfjs's gradient, although the decoder below is meProp.
    const x = tf.oneHot(tf.cast(tf.floor(tf.randomUniform([4, 5], 0, 11.99, 'float32', 7)), 'int32'), 12);
    const y = tf.oneHot(tf.cast(tf.floor(tf.randomUniform([4, 3], 0, 11.99, 'float32', 8)), 'int32'), 12);
    const g = weightGrads(model, x, y);
    const r = weightGrads(original, x, y);
    const logitsKernel = model.trainableWeights.findIndex((w) => w.originalName.startsWith('logits/'));
    expectClose(g[logitsKernel], r[logitsKernel], 1e-5);
    // With outputK it is converted like any other.
    expect(mePropify(original, { k: 4, outputK: 3 }).report.converted.map((c) => c.className)).toContain(
      'TimeDistributed(Dense)',
    );
    model.dispose();
  });

  test('functional: every layer that reaches an output through parameter-free layers only is an output layer', () => {
    const input = tf.input({ shape: [6], name: 'in' });
    const hidden = tf.layers.dense({ units: 8, activation: 'relu', name: 'hidden' }).apply(input) as tf.SymbolicTensor;
    const logits = tf.layers.dense({ units: 4, name: 'logits' }).apply(hidden) as tf.SymbolicTensor;
    const probs = tf.layers
      .activation({ activation: 'softmax', name: 'probs' })
      .apply(tf.layers.dropout({ rate: 0.2, name: 'drop' }).apply(logits) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const flat = tf.layers.dense({ units: 6, name: 'side' }).apply(hidden) as tf.SymbolicTensor;
    const reshaped = tf.layers.reshape({ targetShape: [2, 3], name: 'shape' }).apply(flat) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: [probs, reshaped] });
    const { report } = mePropify(m, { k: 2 });
    expect(report.converted.map((c) => c.name)).toEqual(['hidden']);
    for (const name of ['logits', 'side']) expect(report.skipped.find((s) => s.name === name)?.reason).toMatch(/output layer/);
  });

  test('the report gives the kept count per layer and says when k >= width makes a layer exact', () => {
    const input = tf.input({ shape: [5, 3], name: 'seq' });
    const gru = tf.layers.gru({ units: 4, returnSequences: true, name: 'gru' }).apply(input) as tf.SymbolicTensor;
    const lstm = tf.layers.lstm({ units: 5, name: 'lstm' }).apply(gru) as tf.SymbolicTensor;
    const wide = tf.layers.dense({ units: 40, name: 'wide' }).apply(lstm) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, name: 'out' }).apply(wide) as tf.SymbolicTensor });
    const big = mePropify(m, { k: 1000 }).report.converted;
    expect(big.map((c) => [c.name, c.k, c.width, c.kept, c.exact])).toEqual([
      ['gru', 1000, 12, 12, true],
      ['lstm', 1000, 20, 20, true],
      ['wide', 1000, 40, 40, true],
    ]);
    expect(big[0].note).toMatch(/k=1000 keeps all 12 entries.*exact/);
    const tiny = mePropify(m, { k: 0.001 }).report.converted;
    expect(tiny.map((c) => [c.k, c.kept, c.exact])).toEqual([
      [0.001, 1, false],
      [0.001, 1, false],
      [0.001, 1, false],
    ]);
    expect(tiny[0].note).toBeUndefined();
    expect(mePropify(m, { k: 0.25 }).report.converted.map((c) => c.kept)).toEqual([3, 5, 10]);
  });

  test('a model with nothing to convert warns once, or throws with strict: true', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 3, inputShape: [4], name: 'only' }),
        tf.layers.activation({ activation: 'softmax', name: 'act' }),
      ],
    });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { model, report } = mePropify(m, { k: 2 });
      expect(report.converted).toEqual([]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/nothing to convert.*only \(output layer/);
      model.dispose();
      expect(() => mePropify(m, { k: 2, strict: true })).toThrow(/nothing to convert.*options\.strict/);
      expect(warn).toHaveBeenCalledTimes(1);
      mePropify(m, { k: 2, outputK: 2, strict: true }); // converting the output layer is something
    } finally {
      warn.mockRestore();
    }
    expect(() => mePropify(m, { k: 2, strict: 'yes' as unknown as boolean })).toThrow(
      /options\.strict must be a boolean, got 'yes'/,
    );
  });

  test('a nested model whose input the outer model reuses lists that input layer once', () => {
    // As tfjs-examples' VAE builds it: vae = tf.model({ inputs: encoder.inputs, outputs: decoder.apply(encoder.apply(...)) }).
    const encIn = tf.input({ shape: [6], name: 'encoder_input' });
    const encoder = tf.model({
      inputs: encIn,
      outputs: tf.layers
        .dense({ units: 2, name: 'z' })
        .apply(
          tf.layers.dense({ units: 8, activation: 'relu', name: 'enc_hidden' }).apply(encIn) as tf.SymbolicTensor,
        ) as tf.SymbolicTensor,
      name: 'encoder',
    });
    const decIn = tf.input({ shape: [2], name: 'z_sampling' });
    const decoder = tf.model({
      inputs: decIn,
      outputs: tf.layers
        .dense({ units: 6, activation: 'sigmoid', name: 'dec_out' })
        .apply(
          tf.layers.dense({ units: 8, activation: 'relu', name: 'dec_hidden' }).apply(decIn) as tf.SymbolicTensor,
        ) as tf.SymbolicTensor,
      name: 'decoder',
    });
    const vae = tf.model({
      inputs: encoder.inputs,
      outputs: decoder.apply(encoder.apply(encoder.inputs) as tf.SymbolicTensor) as tf.SymbolicTensor,
      name: 'vae',
    });
    const { report } = mePropify(vae, { k: 2 });
    const names = report.skipped.map((s) => s.name);
    expect(names.filter((n) => n === 'encoder_input')).toHaveLength(1);
    expect(new Set(names).size).toBe(names.length);
    expect(report.skipped.find((s) => s.name === 'encoder_input')?.reason).toBe('input layer');
    expect(report.converted.map((c) => c.name).sort()).toEqual(['dec_hidden', 'enc_hidden', 'z']);
    expect(report.skipped.find((s) => s.name === 'dec_out')?.reason).toMatch(/output layer/);
  });

  test('an unregistered custom layer: the error names it and says to register it', () => {
    // The class registry is global: one class name per backend run.
    const className = `TestDoubler_${backend}`;
    class Doubler extends tf.layers.Layer {
      static className = className;
      override call(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.mul(Array.isArray(x) ? x[0] : x, 2);
      }
    }
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3], name: 'd' }),
        new Doubler({ name: 'twice' }),
        tf.layers.dense({ units: 2, name: 'o' }),
      ],
    });
    expect(() => mePropify(m, { k: 2 })).toThrow(
      new RegExp(
        `layer 'twice' has class '${className}', which is not registered.*tf\\.serialization\\.registerClass\\(${className}\\).*before converting`,
      ),
    );
    tf.serialization.registerClass(Doubler);
    expect(mePropify(m, { k: 2 }).report.converted.map((c) => c.name)).toEqual(['d']);
  });

  test('a Sequential that is not built yet: the error says to build it first', () => {
    // tfjs itself refuses a first layer without inputShape (in tf.sequential and in add); what reaches
    // mePropify unbuilt is a Sequential without layers.
    expect(() => mePropify(tf.sequential({ name: 'unbuilt' }), { k: 2 })).toThrow(
      /model 'unbuilt' must be built before converting \(it has no layers\).*inputShape/,
    );
  });
});
