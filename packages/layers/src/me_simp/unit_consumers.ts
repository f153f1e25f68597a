// Where a layer's output units go: the layers whose weight rows must be removed with a unit, following the
// graph through layers that act on each unit alone (Dropout, elementwise activations). A unit can only be
// removed when every path ends in such a weight (Dense / LSTM / GRU / SimpleRNN kernel rows).
import type { layers } from '@tensorflow/tfjs-layers';

type Layer = layers.Layer;

/** Layers whose kernel rows are the input units: they drop the rows of a removed unit. */
export const ROW_TAKERS = new Set([
  'Dense',
  'LSTM',
  'GRU',
  'SimpleRNN',
  'MeProp>Dense',
  'MeProp>LSTM',
  'MeProp>GRU',
  'MeProp>SimpleRNN',
]);

/** Layers that map each unit on its own and have no per-unit weights: a removed unit just passes through. */
const PER_UNIT = new Set([
  'Dropout',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'SpatialDropout1D',
  'RepeatVector',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
]);

/** Activations that mix the units (a removed unit would change the others). */
export const MIXING_ACTIVATIONS = new Set(['softmax', 'logSoftmax']);

function activationName(layer: Layer): string {
  const a = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof a === 'string' ? a : '';
}

function passesUnits(layer: Layer): boolean {
  const cls = layer.getClassName();
  if (PER_UNIT.has(cls)) return true;
  return cls === 'Activation' && !MIXING_ACTIVATIONS.has(activationName(layer));
}

export type Consumers = { takers: Layer[] } | { reason: string };

/**
 * The row-taking layers fed by `layer`'s units, or why its units cannot be removed. `inModel`: the layers
 * of the model (a layer may also be used by other models); `outputs`: the model's output layers.
 */
export function unitConsumers(layer: Layer, inModel: Set<Layer>, outputs: Set<Layer>): Consumers {
  const takers: Layer[] = [];
  const visit = (from: Layer): string | null => {
    if (outputs.has(from)) return `its units reach the model output through '${from.name}'`;
    for (const node of from.outboundNodes) {
      const c = node.outboundLayer;
      if (!inModel.has(c)) continue;
      if (c.inboundNodes.length !== 1) return `consumer '${c.name}' is called more than once`;
      const cls = c.getClassName();
      if (ROW_TAKERS.has(cls)) {
        if (c.inboundNodes[0].inboundLayers.length !== 1) return `consumer '${c.name}' has several inputs`;
        takers.push(c);
      } else if (passesUnits(c)) {
        const r = visit(c);
        if (r !== null) return r;
      } else {
        return `consumer '${c.name}' (${cls}) cannot drop input units`;
      }
    }
    return null;
  };
  const reason = visit(layer);
  return reason === null ? { takers } : { reason };
}
