// Small versions of the tensorflow/tfjs-examples models a tfjs user is likely to bring to `meprop-bench model`
// (same layer types and topology, smaller sizes and a 12x12 convnet input so the tests stay quick): mnist-node's convnet, sentiment's
// embedding + LSTM classifier, lstm-text-generation's character LSTM, addition-rnn's sequence-to-sequence RNN.
import * as tf from '@tensorflow/tfjs';

export type ExampleModelName = 'mnist-convnet' | 'sentiment-lstm' | 'lstm-text-generation' | 'addition-rnn' | 'mlp';

export function exampleModel(name: ExampleModelName): tf.LayersModel {
  const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });
  switch (name) {
    case 'mnist-convnet':
      return tf.sequential({
        name,
        layers: [
          tf.layers.conv2d({
            inputShape: [12, 12, 1],
            filters: 4,
            kernelSize: 3,
            activation: 'relu',
            kernelInitializer: seed(1),
          }),
          tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: seed(2) }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dropout({ rate: 0.25 }),
          tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: seed(3) }),
          tf.layers.dropout({ rate: 0.5 }),
          tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: seed(4) }),
        ],
      });
    case 'sentiment-lstm':
      return tf.sequential({
        name,
        layers: [
          tf.layers.embedding({
            inputDim: 50,
            outputDim: 8,
            inputLength: 12,
            embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 5 }),
          }),
          tf.layers.lstm({ units: 16, kernelInitializer: seed(6), recurrentInitializer: seed(7) }),
          tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: seed(8) }),
        ],
      });
    case 'lstm-text-generation':
      return tf.sequential({
        name,
        layers: [
          tf.layers.lstm({
            units: 32,
            inputShape: [10, 20],
            returnSequences: false,
            kernelInitializer: seed(9),
            recurrentInitializer: seed(10),
          }),
          tf.layers.dense({ units: 20, activation: 'softmax', kernelInitializer: seed(11) }),
        ],
      });
    case 'addition-rnn':
      return tf.sequential({
        name,
        layers: [
          tf.layers.simpleRNN({ units: 24, inputShape: [7, 12], kernelInitializer: seed(12), recurrentInitializer: seed(13) }),
          tf.layers.repeatVector({ n: 4 }),
          tf.layers.simpleRNN({ units: 24, returnSequences: true, kernelInitializer: seed(14), recurrentInitializer: seed(15) }),
          tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 12, kernelInitializer: seed(16) }) }),
          tf.layers.activation({ activation: 'softmax' }),
        ],
      });
    case 'mlp':
      return tf.sequential({
        name,
        layers: [
          tf.layers.dense({ units: 100, inputShape: [40], activation: 'relu', kernelInitializer: seed(17) }),
          tf.layers.dense({ units: 100, activation: 'relu', kernelInitializer: seed(18) }),
          tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: seed(19) }),
        ],
      });
  }
}
