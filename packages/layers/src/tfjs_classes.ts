// tfjs-layers' own layer classes, looked up in the serialization registry (see tfjs_internals.ts). Subclasses
// of these behave exactly like tfjs's layers (build, weights, getConfig) without creating a layer.
import '@tensorflow/tfjs-layers';
import type {
  GRUCellLayerArgs,
  GRULayerArgs,
  layers,
  LSTMCellLayerArgs,
  LSTMLayerArgs,
  SimpleRNNCellLayerArgs,
  SimpleRNNLayerArgs,
} from '@tensorflow/tfjs-layers';
import { DenseLayerArgs, registeredClass, RegisteredClass } from './tfjs_internals';

// Instance types from the factories' return types: tfjs-layers' package root exports no class types for these.
type Dense = ReturnType<typeof layers.dense>;
type LSTMCell = ReturnType<typeof layers.lstmCell>;
type GRUCell = ReturnType<typeof layers.gruCell>;
type SimpleRNNCell = ReturnType<typeof layers.simpleRNNCell>;
type LSTM = ReturnType<typeof layers.lstm>;
type GRU = ReturnType<typeof layers.gru>;
type SimpleRNN = ReturnType<typeof layers.simpleRNN>;

export const DenseClass: RegisteredClass<Dense, DenseLayerArgs> = registeredClass('Dense');
export const LSTMCellClass: RegisteredClass<LSTMCell, LSTMCellLayerArgs> = registeredClass('LSTMCell');
export const GRUCellClass: RegisteredClass<GRUCell, GRUCellLayerArgs> = registeredClass('GRUCell');
export const SimpleRNNCellClass: RegisteredClass<SimpleRNNCell, SimpleRNNCellLayerArgs> = registeredClass('SimpleRNNCell');
export const LSTMClass: RegisteredClass<LSTM, LSTMLayerArgs> = registeredClass('LSTM');
export const GRUClass: RegisteredClass<GRU, GRULayerArgs> = registeredClass('GRU');
export const SimpleRNNClass: RegisteredClass<SimpleRNN, SimpleRNNLayerArgs> = registeredClass('SimpleRNN');
