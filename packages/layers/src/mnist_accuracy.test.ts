// meProp learns real MNIST digits. A test-sized run (2000 training digits, 1000 test digits, a
// 784-200-200-10 MLP, 2 epochs) cannot resolve 0.3 points, and at such short budgets meProp (which updates
// 20 of 200 hidden columns per step) measurably lags plain tfjs (measured: about 77% vs 88%). So the
// assertion is looser but real: meProp reaches > 70% (chance: 10%) and is within 15 points of plain tfjs
// with the same initial weights and batches. The 0.3-point comparison on the paper's 784-500-500-10 MLP,
// averaged over seeds, is `meprop-bench mnist --protocol paper` (@meprop/bench; results in the root README).
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { mePropify } from './index';
import { accuracy, loadMnist, MnistSplit } from './test-helpers/mnist';
import { mlp } from './test-helpers/models';

async function train(model: tf.LayersModel, data: MnistSplit): Promise<number> {
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  await model.fit(data.xTrain, data.yTrain, { epochs: 2, batchSize: 50, shuffle: false, verbose: 0 });
  return accuracy(model, data.xTest, data.yTest);
}

describeEachBackend('MNIST accuracy', () => {
  let data: MnistSplit;
  beforeAll(() => {
    data = loadMnist(2000, 1000);
  });
  afterAll(() => tf.dispose([data.xTrain, data.yTrain, data.xTest, data.yTest]));

  test('meProp (k=20 of 200, unified) learns: > 70% and within 15 points of plain tfjs, same seed and batches', async () => {
    const plain = await train(mlp([784, 200, 200, 10]), data);
    const { model } = mePropify(mlp([784, 200, 200, 10]), { k: 20, mode: 'unified' });
    const me = await train(model, data);
    expect({ plain, me, plainLearns: plain > 80, mePropLearns: me > 70, gapBelow15: plain - me < 15 }).toMatchObject({
      plainLearns: true,
      mePropLearns: true,
      gapBelow15: true,
    });
  }, 240000);
});
