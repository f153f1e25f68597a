// tfjs-layers' own layer classes, looked up in the serialization registry. The package exports factories
// (tf.layers.dense) but not the classes; the registry holds the very constructors the factories use, so
// subclasses of these behave exactly like tfjs's layers (build, weights, getConfig) without creating a layer.
import { serialization } from '@tensorflow/tfjs-core';
// Type-only imports: erased at runtime, so no second copy of tfjs-layers is ever loaded.
import type { Dense } from '@tensorflow/tfjs-layers/dist/layers/core';
import type { GRU, GRUCell, LSTM, LSTMCell, SimpleRNN, SimpleRNNCell } from '@tensorflow/tfjs-layers/dist/layers/recurrent';
import '@tensorflow/tfjs-layers';

function registered<T>(className: string): T {
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) {
    throw new Error(`@meprop/layers: tfjs-layers class '${className}' is not registered (is @tensorflow/tfjs-layers loaded?)`);
  }
  return entry[0] as unknown as T;
}

export const DenseClass = registered<typeof Dense>('Dense');
export const LSTMCellClass = registered<typeof LSTMCell>('LSTMCell');
export const GRUCellClass = registered<typeof GRUCell>('GRUCell');
export const SimpleRNNCellClass = registered<typeof SimpleRNNCell>('SimpleRNNCell');
export const LSTMClass = registered<typeof LSTM>('LSTM');
export const GRUClass = registered<typeof GRU>('GRU');
export const SimpleRNNClass = registered<typeof SimpleRNN>('SimpleRNN');
