// Carries an optimizer's state (Adam's moments, Adagrad's accumulators, the step count) over to a simplified
// model: each slot has its weight's shape and is cut exactly as meSimplify cut the weight.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { layers } from '@tensorflow/tfjs-layers';

type Layer = layers.Layer;
import { simplifiedWeight, type SimplifyPlan } from './me_simplify';

type NamedTensors = Awaited<ReturnType<tf.Optimizer['getWeights']>>;

/**
 * The state of `optimizer` (which trained `from`) for the simplified `to`, for `setWeights` of a fresh
 * optimizer of the same kind; null when a slot cannot be matched to a weight of `from` by name and shape
 * (an optimizer whose state is not per weight), in which case the caller starts afresh.
 * tfjs's optimizers name each slot after its variable (`dense/kernel`), ours append a suffix
 * (`dense/kernel/m`); both are renamed after the simplified model's variable.
 */
export async function simplifiedOptimizerState(
  optimizer: tf.Optimizer,
  from: LayersModel,
  to: LayersModel,
  plan: SimplifyPlan,
): Promise<NamedTensors | null> {
  const owners = new Map<string, { layer: Layer; index: number; newName: string; shape: number[] }>();
  from.layers.forEach((layer, i) => {
    layer.weights.forEach((w, j) =>
      owners.set(w.name, { layer: layer as Layer, index: j, newName: to.layers[i].weights[j].name, shape: w.shape as number[] }),
    );
  });
  const state = await optimizer.getWeights();
  if (state.length === 0) return null;
  const [iterations, ...slots] = state;
  // The step count is a fresh scalar (not the optimizer's): it moves into the result as it is.
  const out: NamedTensors = [iterations];
  for (const slot of slots) {
    let owner = owners.get(slot.name);
    let suffix = '';
    if (owner === undefined) {
      const cut = slot.name.lastIndexOf('/');
      owner = cut > 0 ? owners.get(slot.name.slice(0, cut)) : undefined;
      suffix = cut > 0 ? slot.name.slice(cut) : '';
    }
    if (owner === undefined || owner.shape.join('x') !== slot.tensor.shape.join('x')) {
      tf.dispose(out.map((s) => s.tensor));
      return null;
    }
    out.push({ name: owner.newName + suffix, tensor: simplifiedWeight(owner.layer, owner.index, slot.tensor, plan) });
  }
  return out;
}

/**
 * Renames slots made for `from`'s variables after the variables of `to`, a copy with the same structure
 * (mePropify's copy gets new variable names): optimizers that key their state by name find it again.
 */
export function renameSlots(state: NamedTensors, from: LayersModel, to: LayersModel): NamedTensors {
  const names = new Map<string, string>();
  from.weights.forEach((w, i) => names.set(w.name, to.weights[i].name));
  return state.map((s, i) => {
    if (i === 0) return s;
    const exact = names.get(s.name);
    if (exact !== undefined) return { name: exact, tensor: s.tensor };
    const cut = s.name.lastIndexOf('/');
    const base = cut > 0 ? names.get(s.name.slice(0, cut)) : undefined;
    return base !== undefined ? { name: base + s.name.slice(cut), tensor: s.tensor } : s;
  });
}
