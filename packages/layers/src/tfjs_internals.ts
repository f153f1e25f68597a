// Every tfjs internal @meprop/layers relies on, in one place (core's are in @meprop/core's tfjs_internals.ts):
// names and object shapes outside tfjs's public API that a tfjs release may change. tfjs_internals.test.ts checks
// each against the installed tfjs. The types here come from tfjs-layers' package root only (no deep
// `@tensorflow/tfjs-layers/dist/...` imports), so our published .d.ts files resolve with any tfjs-layers 4.x.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import type { layers, LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';

/** tfjs-layers' Dense arguments (exported by the package only as the parameter of `tf.layers.dense`). */
export type DenseLayerArgs = Parameters<typeof layers.dense>[0];

/** A class of tfjs-layers as registered for serialization: its constructor and its statics. */
export interface RegisteredClass<Instance, Args> {
  new (args: Args): Instance;
  className: string;
  fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T;
}

/**
 * The constructor registered for serialization under `className`. tfjs-layers exports factories
 * (`tf.layers.dense`) but not the classes; the registry (`SerializationMap.getMap().classNameMap`, a
 * `[constructor, fromConfig]` pair per class name) holds the very constructors the factories use.
 */
export function registeredClass<T>(className: string): T {
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) {
    throw new Error(`@meprop/layers: tfjs-layers class '${className}' is not registered (is @tensorflow/tfjs-layers loaded?)`);
  }
  return entry[0] as unknown as T;
}

/**
 * A model from its config through the class's registered `fromConfig`, with `fastWeightInit` (its 4th,
 * undocumented argument) so the initializers are skipped: the caller overwrites every weight.
 */
export function modelFromConfigFast(className: string, config: unknown): LayersModel {
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined)
    throw new Error(`@meprop/layers: model class '${className}' is not registered with tfjs serialization`);
  const [ctor, fromConfig] = entry;
  return (fromConfig as unknown as (c: unknown, cfg: unknown, custom: object, fast: boolean) => LayersModel)(
    ctor,
    config,
    {},
    true,
  );
}

/** Dense's fields are private in its typings; these are the ones MePropDense's `call` reads. */
export interface DenseInternals {
  kernel: LayerVariable;
  bias: LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

/** The variable registered with the engine under `name` (the engine's `registeredVariables` map). */
export function registeredVariable(name: string): tf.Variable | undefined {
  return tf.engine().registeredVariables[name];
}

/** Every variable registered with the engine (what tfjs's optimizers minimize when given no var list). */
export function allRegisteredVariables(): tf.Variable[] {
  return Object.values(tf.engine().registeredVariables);
}

/** What tfjs_internals.test.ts checks, for the docs and for the error message of a failing check. */
export const TFJS_LAYERS_INTERNALS: readonly string[] = [
  "serialization.SerializationMap.getMap().classNameMap holds [constructor, fromConfig] for 'Dense', 'LSTM', 'LSTMCell', " +
    "'GRU', 'GRUCell', 'SimpleRNN', 'SimpleRNNCell', 'Sequential' and 'Model'",
  "a LayersModel class's fromConfig takes (cls, config, customObjects, fastWeightInit)",
  'Dense keeps its weights and activation in the fields kernel, bias and activation',
  'the RNN cells keep kernel, recurrentKernel, bias, useBias, activation, recurrentActivation, units, dropout, ' +
    'recurrentDropout, dropoutMask, recurrentDropoutMask and dropoutFunc as fields, and LSTM/GRU/SimpleRNN their cell in `cell`',
  'tf.engine().registeredVariables maps a variable name to the variable',
];
