// The paper's MNIST model: an MLP 784-h-h-10 (relu hidden layers, softmax output), built with tf.layers from
// seeded initializers so that the plain and the meProp runs start from identical weights.
import * as tf from '@tensorflow/tfjs';
import type { MnistSplit } from '../data/types';
import { SeededDropout } from './seeded_dropout';

export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;

/**
 * How the MLP is set up:
 * - `quick`: Glorot-uniform weights, zero biases, no dropout, softmax output (the short CI setting);
 * - `paper`: the paper's released code (lancopku/meProp, src/pytorch): weights and biases drawn from
 *   U(-1/sqrt(fan_out), 1/sqrt(fan_out)), dropout 0.1 after each hidden layer (a fresh seeded mask each step),
 *   and a linear output (logits) trained with log-softmax cross-entropy, as its `F.log_softmax` + `F.nll_loss`
 *   (see {@link mlpLoss}).
 */
export type MlpProtocol = 'quick' | 'paper';
export const MLP_PROTOCOLS: readonly MlpProtocol[] = ['quick', 'paper'];

/** The paper's dropout rate after each hidden layer. */
export const PAPER_DROPOUT = 0.1;

export function buildMlp(hidden: readonly number[], seed: number, protocol: MlpProtocol = 'quick'): tf.Sequential {
  const model = tf.sequential();
  const widths = [...hidden, MNIST_CLASSES];
  widths.forEach((units, i) => {
    const last = i === widths.length - 1;
    const s = 1 / Math.sqrt(units);
    const paperInit = (offset: number) => tf.initializers.randomUniform({ minval: -s, maxval: s, seed: seed * 31 + i + offset });
    model.add(
      tf.layers.dense({
        units,
        activation: last ? (protocol === 'paper' ? 'linear' : 'softmax') : 'relu',
        name: last ? 'output' : `hidden${i + 1}`,
        inputShape: i === 0 ? [MNIST_PIXELS] : undefined,
        kernelInitializer: protocol === 'paper' ? paperInit(0) : tf.initializers.glorotUniform({ seed: seed * 31 + i }),
        biasInitializer: protocol === 'paper' ? paperInit(1000) : 'zeros',
      }),
    );
    if (!last && protocol === 'paper') {
      model.add(new SeededDropout({ rate: PAPER_DROPOUT, seed: seed * 31 + i, name: `dropout${i + 1}` }));
    }
  });
  return model;
}

/** Mean categorical cross-entropy of softmax outputs (clipped so a saturated output cannot give -log 0). */
export function crossEntropy(probs: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1))) as tf.Scalar);
}

/**
 * Mean cross-entropy of logits against one-hot targets through log-softmax: exact gradients (softmax - target)
 * for every example, however wrong the model is. The clipped {@link crossEntropy} gives an example whose true
 * class has probability below 1e-7 no gradient at all.
 */
export function logitsCrossEntropy(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** The training loss of an MLP built by {@link buildMlp} with `protocol`: its output is probabilities or logits. */
export function mlpLoss(protocol: MlpProtocol): (output: tf.Tensor, oneHot: tf.Tensor) => tf.Scalar {
  return protocol === 'paper' ? logitsCrossEntropy : crossEntropy;
}

/** The digits at `order[start .. start+size)` as an [size, 784] input and a one-hot [size, 10] target. */
export function makeBatch(split: MnistSplit, order: Int32Array, start: number, size: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const n = Math.min(size, order.length - start);
  const xs = new Float32Array(n * MNIST_PIXELS);
  const ys = new Float32Array(n * MNIST_CLASSES);
  for (let i = 0; i < n; i++) {
    const idx = order[start + i];
    xs.set(split.images.subarray(idx * MNIST_PIXELS, (idx + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    ys[i * MNIST_CLASSES + split.labels[idx]] = 1;
  }
  return { x: tf.tensor2d(xs, [n, MNIST_PIXELS]), y: tf.tensor2d(ys, [n, MNIST_CLASSES]) };
}

/** Fraction of `split` the model classifies correctly, evaluated in batches. */
export async function evaluateAccuracy(model: tf.LayersModel, split: MnistSplit, batchSize = 500): Promise<number> {
  let correct = 0;
  const order = Int32Array.from({ length: split.n }, (_, i) => i);
  for (let start = 0; start < split.n; start += batchSize) {
    const { x, y } = makeBatch(split, order, start, batchSize);
    const hits = tf.tidy(() => {
      const pred = (model.apply(x) as tf.Tensor).argMax(-1);
      return tf.sum(tf.cast(tf.equal(pred, y.argMax(-1)), 'int32'));
    });
    correct += (await hits.data())[0];
    tf.dispose([x, y, hits]);
  }
  return correct / split.n;
}

/** The model's trainable variables, as tf.variableGrads and optimizers take them. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}
