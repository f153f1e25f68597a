import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { classificationAccuracy, keywordSequences } from '../test-helpers/keyword_sequences';
import { simplifyInCycles } from './simplify_cycles';

const STEPS = 4;
const VOCAB = 8;
const CLASSES = 3;
const UNITS = 16;

function classifier(units: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.lstm({
        inputShape: [STEPS, VOCAB],
        units,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        name: 'lstm',
      }),
      tf.layers.dense({
        units: CLASSES,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        name: 'out',
      }),
    ],
  });
}

describeEachBackend('meSimp on an LSTM text classifier', () => {
  test('the LSTM shrinks and keeps its accuracy on the keyword task', async () => {
    const train = keywordSequences(256, STEPS, VOCAB, CLASSES, 1);
    const test = keywordSequences(200, STEPS, VOCAB, CLASSES, 2);
    const fit = async (m: tf.LayersModel, epochs: number) => {
      await m.fit(train.x, train.y, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
    };
    const plain = classifier(UNITS);
    plain.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    await fit(plain, 16);
    const plainAcc = classificationAccuracy(plain, test.x, test.y);

    const { model, cycles } = await simplifyInCycles(classifier(UNITS), {
      mePropify: { k: 4 },
      threshold: 0.03,
      minUnits: 2,
      cycles: 2,
      simplifyLast: false,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: (m, cycle) => fit(m, cycle === 0 ? 6 : 10),
    });
    const units = (model.layers[0].getConfig() as { units: number }).units;
    const acc = classificationAccuracy(model, test.x, test.y);
    const perCycle = cycles.map((c) => c.units.lstm);
    expect(perCycle[perCycle.length - 1]).toBe(units);
    for (let i = 1; i < perCycle.length; i++) expect(perCycle[i]).toBeLessThanOrEqual(perCycle[i - 1]);
    expect(units).toBeLessThan(UNITS);
    expect(model.layers[0].getClassName()).toBe('LSTM');
    expect(plainAcc).toBeGreaterThan(0.9);
    expect(acc).toBeGreaterThan(plainAcc - 0.03);
    tf.dispose([train.x, train.y, test.x, test.y]);
    plain.dispose();
    model.dispose();
  }, 600_000);
});
