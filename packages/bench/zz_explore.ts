import * as tf from '@tensorflow/tfjs';
import { simplifyInCycles } from '@meprop/layers';
import { loadMnist } from './src/data/load_mnist';
import { subsetMnist } from './src/data/subset';
import { setupBackend } from './src/util/backend';
import { paperMlp } from './src/experiments/simp';
import { evaluateAccuracy, MNIST_PIXELS } from './src/experiments/mlp';
import { makeRng, permutation } from './src/util/rng';

const [k, threshold, cycles, epochs, nTrain] = process.argv.slice(2).map(Number);
async function main() {
  await setupBackend('wasm');
  const data = subsetMnist(loadMnist(), nTrain, 1996);
  const x = tf.tensor2d(data.train.images, [data.train.n, MNIST_PIXELS]);
  const y = tf.oneHot(tf.tensor1d(data.train.labels, 'int32'), 10).toFloat();
  await simplifyInCycles(paperMlp([500, 500], 1, 0.1), {
    mePropify: { k }, threshold, minUnits: 10, cycles, simplifyLast: false,
    optimizer: () => tf.train.adam(1e-3), compile: { loss: 'categoricalCrossentropy' },
    train: async (m, c) => {
      for (let e = 0; e < epochs; e++) {
        const idx = tf.tensor1d(permutation(data.train.n, makeRng(1000 + c * epochs + e)), 'int32');
        const [xs, ys] = [tf.gather(x, idx), tf.gather(y, idx)];
        await m.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
        tf.dispose([idx, xs, ys]);
      }
    },
    onCycleEnd: async ({ cycle, model, units }) => console.log(`k=${k} t=${threshold} cycle ${cycle + 1}: ${units.hidden1}-${units.hidden2} acc ${(100 * await evaluateAccuracy(model, data.test)).toFixed(2)}% ${new Date().toISOString()}`),
  });
}
main();
