// The `iaf` experiment: the same MLP VAE on binarized MNIST with a diagonal Gaussian posterior and with 2- and
// 4-step IAF posteriors (Kingma et al. 2016), compared by test ELBO and importance-weighted log-likelihood.
import * as tf from '@tensorflow/tfjs';
import { evaluateVae, trainVae, Vae, type Rows } from '@meprop/flows';
import type { MnistData, MnistSplit } from '../data/types';

// The contract types are declared once, beside the result schema and the lazy loader that calls this module.
import type { IafPosteriorName } from '../results/schema';
import type { IafExperimentOptions, IafPosteriorResult } from './iaf_runner';
export type { IafExperimentOptions, IafPosteriorResult };
export type IafPosterior = IafPosteriorName;

const POSTERIORS: readonly IafPosterior[] = ['diagonal', 'iaf2', 'iaf4'];

/** Sizes of the full run and of `quick` (a smoke run: well under two minutes on cpu with two cores). */
/** The full sizes and optimizer are those of the flows README's run (the former packages/flows/bench/mnist_vae.ts). */
const FULL = { hidden: 300, iafHidden: 320, maxTrain: Infinity, maxTest: Infinity, maxEpochs: Infinity, iwSamples: 128 };
const QUICK = { hidden: 100, iafHidden: 64, maxTrain: 1000, maxTest: 200, maxEpochs: 2, iwSamples: 16 };
const LEARNING_RATE = 3e-3;
const DEFAULT_BATCH = 50;

/** The first n rows, binarized at 0.5 (the fixed binarization: every posterior sees the same data). */
function binarizedRows(split: MnistSplit, max: number): Rows {
  const n = Math.min(split.n, max);
  const dim = split.images.length / split.n;
  const values = new Float32Array(n * dim);
  for (let i = 0; i < values.length; i++) values[i] = split.images[i] > 0.5 ? 1 : 0;
  return { values, n, dim };
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`iaf: ${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

export async function runIafExperiment(data: MnistData, opts: IafExperimentOptions): Promise<IafPosteriorResult[]> {
  if (!data || !data.train || !data.test) throw new Error(`iaf: data must hold train and test splits, got ${String(data)}`);
  const size = opts.quick ? QUICK : FULL;
  const epochs = Math.min(positiveInt('epochs', opts.epochs), size.maxEpochs);
  if (typeof opts.seed !== 'number' || !Number.isInteger(opts.seed) || opts.seed < 0) {
    throw new Error(`iaf: seed must be an integer >= 0, got ${String(opts.seed)}`);
  }
  const batchSize = positiveInt('batchSize', opts.batchSize ?? DEFAULT_BATCH);
  const latentSize = positiveInt('latentSize', opts.latentSize ?? 32);
  const iwSamples = positiveInt('iwSamples', opts.iwSamples ?? size.iwSamples);
  const hidden = positiveInt('hidden', opts.hidden ?? size.hidden);
  const iafHidden = positiveInt('iafHidden', opts.iafHidden ?? size.iafHidden);
  const contextSize = opts.contextSize === undefined ? undefined : positiveInt('contextSize', opts.contextSize);
  const learningRate = opts.learningRate ?? LEARNING_RATE;
  if (!(learningRate > 0) || !Number.isFinite(learningRate))
    throw new Error(`iaf: learningRate must be a number > 0, got ${String(learningRate)}`);
  const posteriors = opts.posteriors ?? [...POSTERIORS];
  for (const p of posteriors) {
    if (!POSTERIORS.includes(p)) throw new Error(`iaf: posteriors must be among ${POSTERIORS.join(', ')}, got '${String(p)}'`);
  }
  const train = binarizedRows(data.train, size.maxTrain);
  const test = binarizedRows(data.test, size.maxTest);
  const progress = opts.onProgress ?? (() => undefined);
  const totalEpochs = epochs * posteriors.length;
  const results: IafPosteriorResult[] = [];

  for (const [index, posterior] of posteriors.entries()) {
    const steps = posterior === 'iaf2' ? 2 : posterior === 'iaf4' ? 4 : 0;
    // Same encoder, decoder, latent size, epochs, data order and seed for every posterior; only the flow differs.
    const model = new Vae({
      inputSize: train.dim,
      latentSize,
      hiddenUnits: [hidden, hidden],
      iaf: steps > 0 ? { steps, hiddenUnits: [iafHidden, iafHidden], contextSize } : undefined,
      seed: opts.seed,
    });
    try {
      const seconds: number[] = [];
      const testCurve: number[] = [];
      const trainCurve = await trainVae(model, train, {
        epochs,
        batchSize,
        learningRate,
        seed: opts.seed,
        onEpoch: async (epoch, trainElbo, s) => {
          seconds.push(s);
          testCurve.push((await evaluateVae(model, test, { batchSize })).elbo);
          progress(
            `iaf ${posterior}: epoch ${epoch + 1}/${epochs}, train ELBO ${trainElbo.toFixed(2)}, test ELBO ${testCurve[epoch].toFixed(2)}`,
            (index * epochs + epoch + 1) / totalEpochs,
          );
        },
      });
      const final = await evaluateVae(model, test, { batchSize, iwSamples });
      results.push({
        posterior,
        testElbo: final.elbo,
        testIwLogLik: final.iwLogLik,
        iwSamples,
        secondsPerEpoch: seconds.reduce((a, b) => a + b, 0) / seconds.length,
        trainElboCurve: trainCurve,
        testElboCurve: testCurve,
      });
    } finally {
      model.dispose();
    }
  }
  progress(`iaf: done on ${tf.getBackend()}`, 1);
  return results;
}
