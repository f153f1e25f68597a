// meProp conv layers and their conversion by mePropify: forward identical, exact at k >= channels, at most k
// output channels of a kernel moved in unified mode, serialization round trip, no leaks.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, tensorCountAfter } from '@meprop/test-utils';
import { mePropConv2d, mePropify } from './index';
import { maxAbsDiff, oneHotLabels, tokens, weightGrads } from './test-helpers/models';

function convNet(seed = 1): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'c1',
        inputShape: [12, 12, 2],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.conv2d({ name: 'c2', filters: 6, kernelSize: 3, padding: 'same', strides: 2, kernelInitializer: init(2) }),
      tf.layers.separableConv2d({
        name: 'sep',
        filters: 5,
        kernelSize: 3,
        depthMultiplier: 2,
        activation: 'relu',
        depthwiseInitializer: init(3),
        pointwiseInitializer: init(4),
      }),
      tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 2, depthMultiplier: 2, depthwiseInitializer: init(5) }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ name: 'out', units: 3, activation: 'softmax', kernelInitializer: init(6) }),
    ],
  });
}

function textNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.embedding({
        name: 'embed',
        inputDim: 30,
        outputDim: 6,
        inputLength: 10,
        embeddingsInitializer: tf.initializers.randomUniform({ seed: 3 }),
      }),
      tf.layers.conv1d({
        name: 'conv',
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
      tf.layers.globalMaxPooling1d({ name: 'pool' }),
      tf.layers.dense({
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      }),
    ],
  });
}

/** Output channels (last axis) of a kernel gradient with any non-zero entry. */
function touchedChannels(g: tf.Tensor): number {
  return tf.tidy(() => {
    const co = g.shape[g.rank - 1];
    const s = tf.sum(tf.abs(tf.reshape(g, [-1, co])), 0).dataSync();
    return Array.from(s).filter((v) => v !== 0).length;
  });
}

describeEachBackend('meProp conv layers', (backend) => {
  const x = (): tf.Tensor => tf.randomUniform([6, 12, 12, 2], 0, 1, 'float32', 7);
  const y = (): tf.Tensor => oneHotLabels(6, 3, 8);

  test('mePropify converts Conv2D, SeparableConv2D, DepthwiseConv2D (output exact); the forward is identical', () => {
    const original = convNet();
    const { model, report } = mePropify(original, { k: 2, mode: 'unified', overrides: { sep: { k: 3 } } });
    expect(report.converted).toEqual([
      { name: 'c1', className: 'Conv2D', k: 2, mode: 'unified', width: 8, kept: 2, exact: false },
      { name: 'c2', className: 'Conv2D', k: 2, mode: 'unified', width: 6, kept: 2, exact: false },
      { name: 'sep', className: 'SeparableConv2D', k: 3, mode: 'unified', width: 5, kept: 3, exact: false },
      // DepthwiseConv2D has no `filters`: its width is input channels (5) × depthMultiplier (2).
      { name: 'dw', className: 'DepthwiseConv2D', k: 2, mode: 'unified', width: 10, kept: 2, exact: false },
    ]);
    expect(report.skipped.map((s) => s.name)).toEqual(['flat', 'out']);
    expect(model.layers.map((l) => l.getClassName())).toEqual([
      'MeProp>Conv2D',
      'MeProp>Conv2D',
      'MeProp>SeparableConv2D',
      'MeProp>DepthwiseConv2D',
      'Flatten',
      'Dense',
    ]);
    tf.tidy(() => {
      const xs = x();
      expectClose(model.predict(xs) as tf.Tensor, original.predict(xs) as tf.Tensor, backend === 'cpu' ? 1e-6 : 1e-5);
    });
    model.dispose();
    original.dispose();
  });

  test('with k >= channels the weight gradients equal plain tfjs', () => {
    const original = convNet();
    const { model } = mePropify(original, { k: 64, mode: 'per-example' });
    tf.tidy(() => {
      const a = weightGrads(model, x(), y());
      const b = weightGrads(original, x(), y());
      a.forEach((g, i) => expectClose(g, b[i], 1e-4));
    });
    model.dispose();
    original.dispose();
  });

  test('unified k = 2: each converted kernel gradient has exactly 2 output channels; the output layer stays dense', () => {
    const original = convNet();
    const { model } = mePropify(original, { k: 2, mode: 'unified' });
    tf.tidy(() => {
      const g = weightGrads(model, x(), y());
      const names = model.trainableWeights.map((w) => w.originalName);
      const byName = (n: string): tf.Tensor => g[names.indexOf(n)];
      expect(touchedChannels(byName('c1/kernel'))).toBe(2);
      expect(touchedChannels(byName('c2/kernel'))).toBe(2);
      expect(touchedChannels(byName('sep/pointwise_kernel'))).toBe(2);
      // The depthwise kernel [FH, FW, CI, M]: 2 of its CI·M output channels.
      const dwk = byName('dw/depthwise_kernel');
      expect(touchedChannels(tf.reshape(dwk, [dwk.shape[0] as number, dwk.shape[1] as number, -1]))).toBe(2);
      expect(touchedChannels(byName('out/kernel'))).toBe(3);
    });
    model.dispose();
    original.dispose();
  });

  test("per-sample k = 2: one example keeps 2 channels of each conv; a batch gradient is the mean of the examples' own; the mode saves with the layer", async () => {
    const original = convNet();
    const { model, report } = mePropify(original, { k: 2, mode: 'per-sample' });
    expect(report.converted.map((c) => c.mode)).toEqual(['per-sample', 'per-sample', 'per-sample', 'per-sample']);
    const names = model.trainableWeights.map((w) => w.originalName);
    // Saved before any op has used the weights: under jest, tfjs-node hands back arrays of another realm once a
    // tensor lives in TensorFlow, and tfjs-core's encodeWeights rejects them (see io/save_load.test.ts).
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.getLayer('c1').getConfig()).toMatchObject({ k: 2, mode: 'per-sample' });
    tf.tidy(() => {
      const one = weightGrads(model, tf.slice(x(), 0, 1), tf.slice(y(), 0, 1));
      expect(touchedChannels(one[names.indexOf('c1/kernel')])).toBe(2);
      expect(touchedChannels(one[names.indexOf('c2/kernel')])).toBe(2);
      // Each example chooses its channels by itself: the batch's gradient (of the mean loss) is the mean of the
      // six examples' own gradients. Unified mode, which chooses for the batch, does not have this property.
      const meanOfSingles = (m: tf.LayersModel): tf.Tensor[] => {
        const singles = [0, 1, 2, 3, 4, 5].map((i) => weightGrads(m, tf.slice(x(), i, 1), tf.slice(y(), i, 1)));
        return singles[0].map((_, w) => tf.div(tf.addN(singles.map((g) => g[w])), 6));
      };
      const six = weightGrads(model, x(), y());
      meanOfSingles(model).forEach((g, i) => expectClose(six[i], g, 1e-3));
      expect(touchedChannels(six[names.indexOf('out/kernel')])).toBe(3);
      const unified = mePropify(original, { k: 2, mode: 'unified' }).model;
      const u = weightGrads(unified, x(), y());
      const c2 = names.indexOf('c2/kernel');
      expect(tf.max(tf.abs(tf.sub(u[c2], meanOfSingles(unified)[c2]))).dataSync()[0]).toBeGreaterThan(1e-3);
      unified.dispose();
    });
    [loaded, model, original].forEach((m) => m.dispose());
  });

  test('Conv1D (through Embedding): converted, exact at k >= filters, trains without leaking', async () => {
    const original = textNet();
    const xs = tokens(8, 10, 30, 9);
    const ys = oneHotLabels(8, 3, 10);
    const exact = mePropify(original, { k: 8 });
    expect(exact.report.converted.map((c) => `${c.name}:${c.className}`)).toEqual(['conv:Conv1D']);
    expect(exact.report.skipped.find((s) => s.name === 'embed')?.reason).toMatch(/no meProp version/);
    tf.tidy(() => {
      const a = weightGrads(exact.model, xs, ys);
      const b = weightGrads(original, xs, ys);
      a.forEach((g, i) => expectClose(g, b[i], 1e-4));
    });
    const { model } = mePropify(original, { k: 2, mode: 'per-example' });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const losses: number[] = [];
    const { after1, afterN } = await tensorCountAfter(async () => {
      losses.push((await model.trainOnBatch(xs, ys)) as number);
    }, 10);
    expect(afterN).toBe(after1);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    tf.dispose([xs, ys]);
    [model, exact.model, original].forEach((m) => m.dispose());
  });

  test('dilated and channelsFirst convs are skipped with the reason; the layer constructors throw it', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ name: 'dilated', inputShape: [9, 9, 1], filters: 4, kernelSize: 3, dilationRate: 2 }),
        tf.layers.conv2d({ name: 'plain', filters: 4, kernelSize: 3 }),
        tf.layers.flatten({}),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const { model, report } = mePropify(m, { k: 2 });
    expect(report.skipped.find((s) => s.name === 'dilated')?.reason).toMatch(/dilationRate \[2,2\]/);
    expect(report.converted.map((c) => c.name)).toEqual(['plain']);
    expect(() => mePropConv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst', k: 1 })).toThrow(
      /dataFormat 'channelsFirst'/,
    );
    expect(() => mePropConv2d({ filters: 2, kernelSize: 3, k: -1 })).toThrow(/k must be > 0/);
    model.dispose();
    m.dispose();
  });

  test('a converted conv net round-trips through save/load with its classes and k', async () => {
    const original = convNet();
    const { model } = mePropify(original, { k: 2, mode: 'unified', overrides: { c2: { k: 4, mode: 'per-example' } } });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    expect(loaded.getLayer('c2').getConfig()).toMatchObject({ k: 4, mode: 'per-example' });
    expect(loaded.getLayer('dw').getConfig()).toMatchObject({ k: 2, mode: 'unified' });
    tf.tidy(() => {
      const xs = x();
      expect(maxAbsDiff(loaded.predict(xs) as tf.Tensor, model.predict(xs) as tf.Tensor)).toBe(0);
    });
    [loaded, model, original].forEach((m) => m.dispose());
  });
});
