import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { folderIO } from '@meprop/layers/node';
import { describeEachBackend } from '@meprop/test-utils';
import { loadUserModel } from '../data/load_user_model';
import { describeModelIo, readJsonlBatches, syntheticBatches } from '../data/model_batches';
import { exampleModel, type ExampleModelName } from '../test-helpers/example_models';
import { removeTempDirs, tempDir } from '../test-helpers/idx_fixtures';
import { silentProgress } from '../util/progress';
import { runModelBench, type ModelBenchOptions } from './model_bench';

const dir = tempDir();

/** Saves an example model the way a user would (compiled, model.json + weights.bin) and returns the folder. */
async function saved(name: ExampleModelName, loss: string): Promise<string> {
  const folder = path.join(dir, name);
  if (!fs.existsSync(path.join(folder, 'model.json'))) {
    const m = exampleModel(name);
    m.compile({ optimizer: 'adam', loss });
    await m.save(folderIO(folder));
    m.dispose();
  }
  return folder;
}

function options(source: string, extra: Partial<ModelBenchOptions> = {}): ModelBenchOptions {
  return {
    source,
    k: 4,
    mode: 'unified',
    optimizers: ['adam'],
    batchSize: 8,
    steps: 2,
    warmup: 1,
    seed: 1,
    dataLabel: 'synthetic',
    progress: silentProgress(),
    ...extra,
  };
}

async function bench(folder: string, extra: Partial<ModelBenchOptions> = {}) {
  const before = tf.memory().numTensors;
  const { model } = await loadUserModel(folder);
  const io = describeModelIo(model);
  const batches = syntheticBatches(io, 8, 2, 1);
  const figures = await runModelBench(model, io, batches, options(folder, extra));
  for (const b of batches) tf.dispose([...b.xs, ...b.ys]);
  model.dispose();
  return { figures, io, leaked: tf.memory().numTensors - before };
}

const byName = <T extends { name: string }>(rows: T[], prefix: string): T[] => rows.filter((r) => r.name.startsWith(prefix));

describeEachBackend('meprop-bench model on versions of the tfjs-examples models', () => {
  it('the MLP: converts the hidden layers, keeps the output exact, counts the kept fraction, frees every tensor', async () => {
    const { figures, leaked } = await bench(await saved('mlp', 'categoricalCrossentropy'), {
      k: 10,
      optimizers: ['adam', 'sgd'],
    });
    expect(figures.layers.map((l) => [l.converted, l.k, l.width])).toEqual([
      [true, 10, 100],
      [true, 10, 100],
      [false, null, null],
    ]);
    expect(figures.layers[2].reason).toMatch(/output layer.*exact gradient/);
    expect(figures.layers[0].keptFraction).toBeCloseTo(0.1, 10);
    // Both hidden layers keep 10 of 100 entries per row: @meprop/core's own count must say the same.
    expect(figures.measuredKeptFraction).toBeCloseTo(0.1, 10);
    expect(figures.loss).toBe('categoricalCrossentropy');
    expect(figures.forwardMaxAbsDiff).toBeLessThanOrEqual(figures.forwardTolerance);
    expect(figures.optimizers.map((o) => o.optimizer)).toEqual(['adam', 'sgd']);
    for (const o of figures.optimizers) {
      expect(o.skipped).toBeNull();
      for (const v of [o.plainMs, o.mePropMs, o.mePropSparseMs]) expect(v).toBeGreaterThan(0);
      expect(o.speedup).toBeCloseTo((o.plainMs as number) / (o.mePropSparseMs as number), 10);
    }
    expect(figures.passed).toBe(true);
    expect(leaked).toBe(0);
  });

  it('mnist-node convnet: Conv2D and hidden Dense layers converted; trains on every backend (on wasm through the backward kernels core adds)', async () => {
    const { figures } = await bench(await saved('mnist-convnet', 'categoricalCrossentropy'));
    const convs = byName(figures.layers, 'conv2d');
    expect(convs.length).toBeGreaterThan(0);
    expect(convs.every((l) => l.converted)).toBe(true);
    expect([...new Set(figures.layers.filter((l) => l.converted).map((l) => l.className))].sort()).toEqual(['Conv2D', 'Dense']);
    expect(figures.forwardMaxAbsDiff).toBeLessThanOrEqual(figures.forwardTolerance);
    // tfjs 4.22's wasm backend lacks Conv2DBackpropFilter; @meprop/core registers it, so plain tfjs trains too.
    const [adam] = figures.optimizers;
    expect(adam.skipped).toBeNull();
    expect(adam.speedup).toBeGreaterThan(0);
    expect(figures.passed).toBe(true);
  });

  it('sentiment (Embedding + LSTM, sigmoid): the LSTM is converted (k of its 4 gates), ids drawn below inputDim', async () => {
    const { figures, io } = await bench(await saved('sentiment-lstm', 'binaryCrossentropy'));
    expect(io.inputs[0]).toEqual({ shape: [12], intBound: 50 });
    expect(io.losses).toEqual(['binaryCrossentropy']);
    const lstm = byName(figures.layers, 'lstm')[0];
    expect([lstm.converted, lstm.width, lstm.keptFraction]).toEqual([true, 64, 4 / 64]);
    expect(byName(figures.layers, 'embedding')[0].reason).toMatch(/no meProp version/);
    expect(figures.forwardMaxAbsDiff).toBeLessThanOrEqual(figures.forwardTolerance);
    // wasm: the Embedding's gradient needs UnsortedSegmentSum, which @meprop/core registers there.
    expect(figures.optimizers[0].skipped).toBeNull();
    expect(figures.optimizers[0].speedup).toBeGreaterThan(0);
    expect(figures.passed).toBe(true);
  });

  it('lstm-text-generation and addition-rnn: recurrent layers converted, trained and timed on every backend', async () => {
    for (const name of ['lstm-text-generation', 'addition-rnn'] as const) {
      const { figures, leaked } = await bench(await saved(name, 'categoricalCrossentropy'));
      const converted = figures.layers.filter((l) => l.converted).map((l) => `${l.className}:${l.width}`);
      // addition-rnn's softmax is a layer of its own; its TimeDistributed(Dense) projection reaches the output through
      // that parameter-free layer only, so mePropify keeps it exact as an output layer.
      expect(converted).toEqual(name === 'addition-rnn' ? ['SimpleRNN:24', 'SimpleRNN:24'] : ['LSTM:128']);
      expect(figures.forwardMaxAbsDiff).toBeLessThanOrEqual(figures.forwardTolerance);
      expect(figures.optimizers[0].skipped).toBeNull();
      expect(figures.optimizers[0].speedup).toBeGreaterThan(0);
      expect(figures.passed).toBe(true);
      expect(leaked).toBe(0);
    }
  });

  it('--min-speedup fails with the figure named; a model with nothing to convert fails', async () => {
    const { figures } = await bench(await saved('mlp', 'categoricalCrossentropy'), { minSpeedup: 1000 });
    expect(figures.passed).toBe(false);
    expect(figures.failures).toEqual([expect.stringMatching(/^model\.adam\.speedup = [\d.]+ is below --min-speedup 1000$/)]);
    const none = await bench(await saved('mlp', 'categoricalCrossentropy'), {
      overrides: { dense_Dense1: false, dense_Dense2: false },
    });
    expect(none.figures.failures).toContain('no layer was converted to meProp (see the reasons per layer)');
  });
});

describe('loading a user model', () => {
  it('loads a module exporting a factory of the given tfjs, and rejects what is not a model', async () => {
    const file = path.join(dir, 'factory.js');
    fs.writeFileSync(
      file,
      'module.exports = (tf) => tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });\n',
    );
    const { model, kind } = await loadUserModel(file);
    expect(kind).toBe('module');
    expect(model.outputs[0].shape).toEqual([null, 3]);
    model.dispose();
    const bad = path.join(dir, 'bad.js');
    fs.writeFileSync(bad, 'exports.createModel = () => 42;\n');
    await expect(loadUserModel(bad)).rejects.toThrow(/bad\.js: the factory must return a tf\.LayersModel .* got number/);
    const none = path.join(dir, 'none.js');
    fs.writeFileSync(none, 'exports.answer = 42;\n');
    await expect(loadUserModel(none)).rejects.toThrow(
      /none\.js: expected the module to export a model factory .* found exports: answer/,
    );
    await expect(loadUserModel(path.join(dir, 'missing'))).rejects.toThrow(/missing does not exist/);
    fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
    await expect(loadUserModel(path.join(dir, 'empty'))).rejects.toThrow(/empty is a folder without model\.json/);
  });

  it('asks for --data when a dimension is not fixed', () => {
    const m = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [null, 3] })] });
    expect(() => describeModelIo(m)).toThrow(
      /input 0 .* has shape \[null, null, 3\]: every dimension but the batch must be fixed .* --data/,
    );
    m.dispose();
  });
});

describe('--data (JSON lines)', () => {
  const io = {
    inputs: [{ shape: [2, 2], intBound: null }],
    outputs: [{ shape: [3], intBound: null }],
    losses: ['categoricalCrossentropy' as const],
  };

  it('reads examples in order into batches; a class index becomes a one-hot row; the partial batch is dropped', () => {
    const file = path.join(dir, 'data.jsonl');
    fs.writeFileSync(
      file,
      ['{"x": [[1, 2], [3, 4]], "y": 2}', '', '{"x": [[5, 6], [7, 8]], "y": [0, 1, 0]}', '{"x": [[9, 9], [9, 9]], "y": 0}'].join(
        '\n',
      ),
    );
    const batches = readJsonlBatches(file, io, 2, 10);
    expect(batches).toHaveLength(1);
    expect(batches[0].xs[0].shape).toEqual([2, 2, 2]);
    expect(Array.from(batches[0].xs[0].dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(batches[0].ys[0].dataSync())).toEqual([0, 0, 1, 0, 1, 0]);
    tf.dispose([...batches[0].xs, ...batches[0].ys]);
  });

  it('names the line and the problem', () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, '{"x": [[1, 2], [3, 4]], "y": 1}\n{"x": [[1, 2]], "y": 1}\n');
    expect(() => readJsonlBatches(file, io, 1, 10)).toThrow(
      /bad\.jsonl, line 2: x: expected an array of 2 \(shape \[2, 2\]\), got 1 entries/,
    );
    fs.writeFileSync(file, '{"x": [[1, 2], [3, 4]], "y": 3}\n');
    expect(() => readJsonlBatches(file, io, 1, 10)).toThrow(/line 1: y: class index 3 is not an integer in \[0, 3\)/);
    fs.writeFileSync(file, '{"x": [[1, 2], [3, 4]], "y": 1}\n');
    expect(() => readJsonlBatches(file, io, 2, 10)).toThrow(/1 example\(s\), fewer than one batch of 2/);
    fs.writeFileSync(file, 'nope\n');
    expect(() => readJsonlBatches(file, io, 1, 10)).toThrow(/line 1: not valid JSON/);
  });
});

afterAll(() => removeTempDirs());
