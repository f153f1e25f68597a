// Models and measurements shared by this package's tests.
import * as tf from '@tensorflow/tfjs';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

/** The paper's MNIST MLP (784-500-500-10 by default), seeded. */
export function mlp(
  widths: number[] = [784, 500, 500, 10],
  hidden: 'relu' | 'sigmoid' | 'tanh' | 'linear' = 'relu',
  seed = 1,
): tf.Sequential {
  const m = tf.sequential();
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    m.add(
      tf.layers.dense({
        ...(i === 1 ? { inputShape: [widths[0]] } : {}),
        units: widths[i],
        activation: last ? 'softmax' : hidden,
        kernelInitializer: init(seed + i),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 100 + i }),
        name: last ? 'out' : `hidden${i}`,
      }),
    );
  }
  return m;
}

/** Embedding -> LSTM -> Dense(softmax), as a functional model. */
export function lstmClassifier(
  vocab = 50,
  seqLen = 6,
  embed = 8,
  units = 16,
  classes = 3,
  seed = 1,
  trainableEmbedding = true,
): tf.LayersModel {
  const input = tf.input({ shape: [seqLen], dtype: 'int32', name: 'tokens' });
  const e = tf.layers
    .embedding({
      inputDim: vocab,
      outputDim: embed,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed }),
      name: 'embed',
      trainable: trainableEmbedding,
    })
    .apply(input);
  const h = tf.layers
    .lstm({ units, kernelInitializer: init(seed + 1), recurrentInitializer: init(seed + 2), name: 'lstm' })
    .apply(e);
  const out = tf.layers
    .dense({ units: classes, activation: 'softmax', kernelInitializer: init(seed + 3), name: 'out' })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

export function tokens(n: number, seqLen: number, vocab: number, seed: number): tf.Tensor2D {
  return tf.tidy(() =>
    tf.cast(tf.floor(tf.randomUniform([n, seqLen], 0, vocab - 1e-3, 'float32', seed)), 'int32'),
  ) as tf.Tensor2D;
}

export function oneHotLabels(n: number, classes: number, seed: number): tf.Tensor2D {
  return tf.tidy(() =>
    tf.oneHot(tf.cast(tf.floor(tf.randomUniform([n], 0, classes - 1e-3, 'float32', seed)), 'int32'), classes),
  ) as tf.Tensor2D;
}

/** Indices of the columns of a 2-D tensor with a non-zero entry. */
export function nonZeroColumns(t: tf.Tensor): number[] {
  const [R, C] = t.shape;
  const v = t.dataSync();
  const out: number[] = [];
  for (let j = 0; j < C; j++) {
    for (let i = 0; i < R; i++) {
      if (v[i * C + j] !== 0) {
        out.push(j);
        break;
      }
    }
  }
  return out;
}

/** Weight gradients of a model's categorical cross-entropy on (x, y), keyed by weight name order. */
export function weightGrads(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Tensor[] {
  return tf.tidy(() => {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
      vars,
    );
    return vars.map((v) => grads[v.name]);
  });
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}
