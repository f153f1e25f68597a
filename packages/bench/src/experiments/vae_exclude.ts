// `vae-exclude`: withMeProp on a VAE shaped like tfjs-examples' vae (encoder 784-512-(2+2), decoder 2-512-784 with
// a sigmoid output), trained on the MNIST digits: the negative ELBO (pixel cross-entropy summed over the 784
// pixels + KL to N(0, I)) of the test digits after training plain, under withMeProp, and under withMeProp with
// the decoder's output layer excluded (MePropScopeConfig.exclude). Every variant starts from the same weights
// and sees the same batches and the same reparameterization noise.
import * as tf from '@tensorflow/tfjs';
import { withMeProp, type MePropMode, type MePropScopeConfig } from '@meprop/core';
import type { MnistData, MnistSplit } from '../data/types';
import type { VaeExcludeFigures, VaeExcludeRow } from '../results/where_figures';
import type { Progress } from '../util/progress';
import { median, ratio } from '../util/stats';

export const VAE_VARIANTS = ['plain', 'all', 'excl'] as const;
export type VaeVariant = (typeof VAE_VARIANTS)[number];

interface Vae {
  layers: tf.layers.Layer[];
  encode(x: tf.Tensor): { mean: tf.Tensor; logVar: tf.Tensor };
  decode(z: tf.Tensor): tf.Tensor;
}

/** Fresh layers named by `tag` (each variant's variables have their own names), seeded alike. */
function makeVae(tag: string, hidden: number, latent: number, seed: number): Vae {
  const dense = (name: string, units: number, activation: 'relu' | 'sigmoid' | 'linear', inputDim: number, s: number) => {
    const l = tf.layers.dense({
      units,
      activation,
      name: `${tag}_${name}`,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 10 + s }),
    });
    l.build([null, inputDim]);
    return l;
  };
  const encHidden = dense('enc_hidden', hidden, 'relu', 784, 1);
  const zMean = dense('z_mean', latent, 'linear', hidden, 2);
  const zLogVar = dense('z_log_var', latent, 'linear', hidden, 3);
  const decHidden = dense('dec_hidden', hidden, 'relu', latent, 4);
  const decOut = dense('dec_out', 784, 'sigmoid', hidden, 5);
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
export function vaeLoss(vae: Vae, x: tf.Tensor, noiseSeed: number): tf.Scalar {
  return tf.tidy(() => {
    const { mean, logVar } = vae.encode(x);
    const eps = tf.randomNormal(mean.shape, 0, 1, 'float32', noiseSeed);
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps));
    const p = tf.clipByValue(vae.decode(z), 1e-7, 1 - 1e-7);
    const recon = tf.neg(tf.sum(tf.add(tf.mul(x, tf.log(p)), tf.mul(tf.sub(1, x), tf.log(tf.sub(1, p)))), 1));
    const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mean)), tf.exp(logVar)), 1));
    return tf.mean(tf.add(recon, kl)) as tf.Scalar;
  });
}

export interface VaeExcludeOptions {
  epochs: number;
  batchSize: number;
  k: number;
  mode: MePropMode;
  hidden: number;
  latent: number;
  lr: number;
  seed: number;
  variants: readonly VaeVariant[];
  progress: Progress;
}

const LABELS: Record<VaeVariant, (o: VaeExcludeOptions) => string> = {
  plain: () => 'plain tfjs',
  all: (o) => `withMeProp k=${o.k} ${o.mode}`,
  excl: (o) => `withMeProp k=${o.k} ${o.mode}, decoder output excluded`,
};

const images = (s: MnistSplit): tf.Tensor2D => tf.tensor2d(s.images, [s.n, 784]);

export async function runVaeExclude(data: MnistData, o: VaeExcludeOptions): Promise<VaeExcludeFigures> {
  const xTrain = images(data.train);
  const xTest = images(data.test);
  const n = data.train.n;
  const rows: VaeExcludeRow[] = [];
  try {
    for (const variant of o.variants) {
      const vae = makeVae(variant, o.hidden, o.latent, o.seed);
      // The decoder's output layer is the last of vae.layers; a layer object (or its name) in `exclude`.
      const scope: MePropScopeConfig | null =
        variant === 'plain' ? null : { k: o.k, mode: o.mode, ...(variant === 'excl' ? { exclude: [vae.layers[4]] } : {}) };
      const vars = vae.layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
      const opt = tf.train.adam(o.lr);
      const task = o.progress.task(`vae-exclude ${variant}`);
      const stepsPerEpoch = Math.floor(n / o.batchSize);
      const cpu: number[] = [];
      const curve: number[] = [];
      const t0 = performance.now();
      let step = 0;
      try {
        for (let e = 0; e < o.epochs; e++) {
          for (let i = 0; i + o.batchSize <= n; i += o.batchSize, step++) {
            const run = (): void => {
              const cost = tf.tidy((): tf.Scalar => {
                const x = tf.slice(xTrain, [i, 0], [o.batchSize, -1]);
                const c = opt.minimize(() => vaeLoss(vae, x, o.seed * 100000 + step), true, vars);
                if (c === null) throw new Error('vae-exclude: the optimizer returned no loss');
                return c;
              });
              // Reading the loss ends the step's work.
              cost.dataSync();
              cost.dispose();
            };
            const c0 = process.cpuUsage();
            if (scope === null) run();
            else withMeProp(scope, run);
            const c = process.cpuUsage(c0);
            cpu.push((c.user + c.system) / 1000);
            task.update((step + 1) / (stepsPerEpoch * o.epochs));
          }
          curve.push(tf.tidy(() => vaeLoss(vae, xTest, o.seed * 100000 - 1).dataSync()[0]));
        }
        const plainCpu = rows.find((r) => r.variant === 'plain')?.stepCpuMs ?? null;
        const stepCpuMs = cpu.length > 0 ? median(cpu) : NaN;
        rows.push({
          variant,
          description: LABELS[variant](o),
          testLoss: curve[curve.length - 1] ?? NaN,
          testLossCurve: curve,
          trainSeconds: (performance.now() - t0) / 1000,
          stepCpuMs,
          stepCpuSpeedup: variant === 'plain' || plainCpu === null ? null : ratio(plainCpu, stepCpuMs),
        });
        task.done(`test loss ${curve[curve.length - 1]?.toFixed(1)}`);
      } finally {
        opt.dispose();
        tf.dispose(vars);
      }
    }
  } finally {
    tf.dispose([xTrain, xTest]);
  }
  return { hidden: o.hidden, latent: o.latent, k: o.k, mode: o.mode, rows };
}
