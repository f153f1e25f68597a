// withMeProp on a VAE (the shape of tfjs-examples' vae: 784-512-(2+2) encoder, 2-512-784 sigmoid decoder), on the
// embedded MNIST digits: the negative ELBO (reconstruction cross-entropy summed over pixels + KL) on the test
// digits after training plain, under withMeProp, and under withMeProp with the decoder's output layer excluded.
// Run: npx tsx bench/vae_exclude.ts [--backend wasm] [--epochs 5] [--k 20] [--mode unified] [--batch 128]
//      [--variants plain,all,excl]
import * as tf from '@tensorflow/tfjs';
import { MePropMode, MePropScopeConfig, withMeProp } from '@meprop/core';
import { loadMnist } from '../src/test-helpers/mnist';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const LATENT = 2;
const HIDDEN = 512;

interface Vae {
  layers: tf.layers.Layer[];
  encode(x: tf.Tensor): { mean: tf.Tensor; logVar: tf.Tensor };
  decode(z: tf.Tensor): tf.Tensor;
}

/** Fresh layers named by `tag` (so each variant's variables have their own names), seeded alike. */
function makeVae(tag: string): Vae {
  const dense = (name: string, units: number, activation: 'relu' | 'sigmoid' | 'linear', inputDim: number, seed: number) => {
    const l = tf.layers.dense({
      units,
      activation,
      name: `${tag}_${name}`,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    });
    l.build([null, inputDim]);
    return l;
  };
  const encHidden = dense('enc_hidden', HIDDEN, 'relu', 784, 1);
  const zMean = dense('z_mean', LATENT, 'linear', HIDDEN, 2);
  const zLogVar = dense('z_log_var', LATENT, 'linear', HIDDEN, 3);
  const decHidden = dense('dec_hidden', HIDDEN, 'relu', LATENT, 4);
  const decOut = dense('dec_out', 784, 'sigmoid', HIDDEN, 5);
  return {
    layers: [encHidden, zMean, zLogVar, decHidden, decOut],
    encode: (x) => {
      const h = encHidden.apply(x) as tf.Tensor;
      return { mean: zMean.apply(h) as tf.Tensor, logVar: zLogVar.apply(h) as tf.Tensor };
    },
    decode: (z) => decOut.apply(decHidden.apply(z) as tf.Tensor) as tf.Tensor,
  };
}

/** Mean over the batch of the negative ELBO: pixel cross-entropy summed over 784 pixels, plus KL to N(0, I). */
function vaeLoss(vae: Vae, x: tf.Tensor, seed: number): tf.Scalar {
  const { mean, logVar } = vae.encode(x);
  const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', seed);
  const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
  const p = tf.clipByValue(vae.decode(z), 1e-7, 1 - 1e-7);
  const recon = tf.neg(tf.sum(tf.add(tf.mul(x, tf.log(p)), tf.mul(tf.sub(1, x), tf.log(tf.sub(1, p)))), 1));
  const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mean)), tf.exp(logVar)), 1));
  return tf.mean(tf.add(recon, kl)) as tf.Scalar;
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const epochs = Number(arg('epochs', '5'));
  const k = Number(arg('k', '20'));
  const mode = arg('mode', 'unified') as MePropMode;
  const batch = Number(arg('batch', '128'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (backend === 'tensorflow') require('@tensorflow/tfjs-node');
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: cannot activate '${backend}'`);
  await tf.ready();
  const { xTrain, xTest, yTrain, yTest } = loadMnist(700, 150);
  tf.dispose([yTrain, yTest]);
  const n = xTrain.shape[0];

  const variants: Array<{ name: string; tag: string; scope: ((vae: Vae) => MePropScopeConfig) | null }> = [
    { name: 'plain tfjs', tag: 'plain', scope: null },
    { name: `withMeProp k=${k} ${mode}`, tag: 'all', scope: () => ({ k, mode }) },
    // The decoder's output layer (the last of vae.layers), as a layer object; its name would do as well.
    {
      name: `withMeProp k=${k} ${mode}, exclude the decoder output`,
      tag: 'excl',
      scope: (vae) => ({ k, mode, exclude: [vae.layers[4]] }),
    },
  ];
  console.log(
    `backend=${backend} VAE 784-${HIDDEN}-${LATENT}, ${n} train / ${xTest.shape[0]} test digits, batch ${batch}, Adam 1e-3, ${epochs} epochs; test loss = mean negative ELBO (nats)`,
  );
  const wanted = arg('variants', 'plain,all,excl').split(',');
  for (const v of variants.filter((x) => wanted.includes(x.tag))) {
    const vae = makeVae(v.tag);
    const vars = vae.layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
    const opt = tf.train.adam(1e-3);
    const t0 = performance.now();
    const cpu: number[] = [];
    let step = 0;
    for (let e = 0; e < epochs; e++) {
      for (let i = 0; i + batch <= n; i += batch, step++) {
        const run = () =>
          tf.tidy(() => {
            const x = tf.slice(xTrain, [i, 0], [batch, -1]);
            opt.minimize(() => vaeLoss(vae, x, 1000 + step), false, vars);
          });
        const c0 = process.cpuUsage();
        if (v.scope === null) run();
        else withMeProp(v.scope(vae), run);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const test = tf.tidy(() => vaeLoss(vae, xTest, 7).dataSync()[0]);
    const median = [...cpu].sort((a, b) => a - b)[Math.floor(cpu.length / 2)];
    console.log(
      `${v.name.padEnd(52)} test loss ${test.toFixed(1).padStart(7)}   train ${seconds.toFixed(1)} s wall, step ${median.toFixed(1)} ms process CPU (median)`,
    );
    opt.dispose();
    tf.dispose(vars);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
