// tfjs's usual layer arguments (inputShape, batchInputShape, batchSize, dtype, name, trainable, weights,
// inputDType), which every layer factory of the package accepts and passes to tfjs's Layer unchanged, so a flow
// layer can be the first layer of a tf.sequential and its config round-trips like any tfjs layer's.
import type { layers } from '@tensorflow/tfjs-layers';
import { defaultLayerName } from './layer_name';

/** tfjs-layers' `LayerArgs` (its package root exports it only as the Layer constructor's parameter). */
export type FlowLayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

const KEYS = ['inputShape', 'batchInputShape', 'batchSize', 'dtype', 'trainable', 'weights', 'inputDType'] as const;

/** The LayerArgs part of a factory's args, with the package's default name when none is given. */
export function baseLayerArgs(args: FlowLayerArgs | undefined, defaultName: string): FlowLayerArgs {
  const out: FlowLayerArgs = { name: defaultLayerName(defaultName, args?.name ?? undefined) };
  if (args === null || typeof args !== 'object') return out;
  for (const key of KEYS) {
    if (args[key] !== undefined && args[key] !== null) (out as Record<string, unknown>)[key] = args[key];
  }
  return out;
}
