// Diagonal-Gaussian vs IAF posterior on binarized MNIST (the numbers in the README).
// Usage: npx tsx packages/flows/bench/mnist_vae.ts [--backend wasm] [--train 8000] [--test 1000] [--epochs 20]
//        [--latent 32] [--hidden 300] [--iaf-hidden 320] [--steps 4] [--iw 128] [--batch 100] [--seed 1]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { evaluateVae, trainVae, Vae } from '../src';
import { loadBinarizedMnist } from '../src/test-helpers/mnist';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const nTrain = Number(arg('train', '8000'));
  const nTest = Number(arg('test', '1000'));
  const epochs = Number(arg('epochs', '20'));
  const latent = Number(arg('latent', '32'));
  const hidden = Number(arg('hidden', '300'));
  const iafHidden = Number(arg('iaf-hidden', '320'));
  const steps = Number(arg('steps', '4'));
  const iw = Number(arg('iw', '128'));
  const batchSize = Number(arg('batch', '100'));
  const seed = Number(arg('seed', '1'));
  const lr = Number(arg('lr', '0.001'));
  const context = Number(arg('context', '0')) || undefined;
  await tf.setBackend(backend);
  await tf.ready();
  const { train, test } = loadBinarizedMnist(nTrain, nTest, seed);
  console.log(`backend ${tf.getBackend()}, ${train.n} train / ${test.n} test digits, ${epochs} epochs, latent ${latent}, ` +
    `MLP 784-${hidden}-${hidden}, batch ${batchSize}, seed ${seed}`);
  for (const posterior of ['diagonal', `iaf${steps}`]) {
    const model = new Vae({
      inputSize: 784,
      latentSize: latent,
      hiddenUnits: [hidden, hidden],
      iaf: posterior === 'diagonal' ? undefined : { steps, hiddenUnits: [iafHidden, iafHidden], contextSize: context },
      seed,
    });
    const times: number[] = [];
    await trainVae(model, train, {
      epochs,
      batchSize,
      seed,
      learningRate: lr,
      onEpoch: async (e, elbo, s) => {
        times.push(s);
        if (e % 5 === 4 || e === epochs - 1) {
          const ev = await evaluateVae(model, test);
          console.log(`  ${posterior} epoch ${e + 1}: train ELBO ${elbo.toFixed(2)}, test ELBO ${ev.elbo.toFixed(2)} (${s.toFixed(1)} s)`);
        }
      },
    });
    const ev = await evaluateVae(model, test, { iwSamples: iw });
    const spe = times.reduce((a, b) => a + b, 0) / times.length;
    console.log(`${posterior}: test ELBO ${ev.elbo.toFixed(2)}, test log p(x) (IW, ${iw} samples) ${ev.iwLogLik.toFixed(2)}, ` +
      `${spe.toFixed(2)} s/epoch`);
    model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
