import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';
import { evaluateVae, trainVae } from './train_vae';
import { Vae } from './vae';
import { loadBinarizedMnist } from './test-helpers/mnist';

// Training two VAEs on real digits is most of this package's test time: about a minute on wasm and several times
// that on cpu. So this one comparison runs on a single backend (wasm when it is among the test backends), while
// every other suite runs on all of them. The full-size comparison is `meprop-bench iaf` (@meprop/bench; numbers in the README).
const backend = testBackends().includes('wasm') ? 'wasm' : testBackends()[0];

const CONFIG = {
  nTrain: 3000,
  nTest: 500,
  epochs: 5,
  latentSize: 32,
  hidden: 200,
  iafHidden: 100,
  batchSize: 50,
  lr: 3e-3,
  iw: 100,
};

async function run(steps: number, data: ReturnType<typeof loadBinarizedMnist>): Promise<{ elbo: number; iwLogLik: number }> {
  const model = new Vae({
    inputSize: 784,
    latentSize: CONFIG.latentSize,
    hiddenUnits: [CONFIG.hidden, CONFIG.hidden],
    iaf: steps > 0 ? { steps, hiddenUnits: [CONFIG.iafHidden, CONFIG.iafHidden] } : undefined,
    seed: 1,
  });
  try {
    await trainVae(model, data.train, { epochs: CONFIG.epochs, batchSize: CONFIG.batchSize, learningRate: CONFIG.lr, seed: 1 });
    return await evaluateVae(model, data.test, { iwSamples: CONFIG.iw });
  } finally {
    model.dispose();
  }
}

describe(`VAE on binarized MNIST, IAF posterior vs diagonal Gaussian [${backend}]`, () => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('reaches a better test ELBO with a 4-step IAF posterior and no worse importance-weighted log-likelihood', async () => {
    const data = loadBinarizedMnist(CONFIG.nTrain, CONFIG.nTest);
    const before = tf.memory().numTensors;
    const diagonal = await run(0, data);
    const iaf = await run(4, data);
    expect(tf.memory().numTensors).toBe(before);
    // Same encoder, decoder, latent size, epochs, data order and seed; only the posterior differs.
    expect(iaf.elbo).toBeGreaterThanOrEqual(diagonal.elbo + 1);
    expect(iaf.iwLogLik).toBeGreaterThanOrEqual(diagonal.iwLogLik);
  }, 300000);
});
