// meSimplify: a plain tfjs copy of a meProp-trained model without the hidden units that meProp rarely kept
// (Sun et al. 2017, "model simplification"). A removed unit takes its kernel columns, bias entry and (RNNs)
// its slice of every gate and its recurrent row with it, and the next layer loses the unit's kernel row.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import type { layers } from '@tensorflow/tfjs-layers';

type Layer = layers.Layer;
import { activenessOf, type ActivenessMap, type LayerActiveness } from './activeness';
import { MIXING_ACTIVATIONS, unitConsumers } from './unit_consumers';

export interface MeSimplifyOptions {
  /** A unit stays when its activeness (fraction of its gradient entries meProp kept) is >= threshold; in [0, 1). */
  threshold: number;
  /** Units each layer keeps at least (the most active ones); an integer >= 1. Default 1. */
  minUnits?: number;
  /**
   * Units each layer keeps at most (the most active ones, ties to the lower index): a cap on top of the
   * threshold, e.g. a target width; an integer >= minUnits. Default: no cap.
   */
  maxUnits?: number;
  /** Activeness to use instead of the model's tracker (e.g. a saved `tracker.read()`). */
  activeness?: ActivenessMap;
}

export interface LayerSimplification {
  className: string;
  before: number;
  after: number;
  /** Indices of the units kept, ascending. */
  kept: number[];
  /** Why no unit was removed although some were below the threshold (e.g. a softmax activation). */
  reason?: string;
}

/** Layer name → before/after units, for every meProp layer with activeness. */
export type MeSimplifyReport = { [layerName: string]: LayerSimplification };

const GATES: { [className: string]: number } = { 'MeProp>Dense': 1, 'MeProp>LSTM': 4, 'MeProp>GRU': 3, 'MeProp>SimpleRNN': 1 };
const ME_PROP_KEYS = ['k', 'mode', 'seed'];

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

function checkOptions(options: unknown): {
  threshold: number;
  minUnits: number;
  maxUnits: number;
  activeness?: ActivenessMap;
} {
  if (options === null || typeof options !== 'object')
    throw new Error(`meSimplify: options must be an object like { threshold: 0.1, minUnits: 1 }, got ${show(options)}`);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['threshold', 'minUnits', 'maxUnits', 'activeness'].includes(key))
      throw new Error(`meSimplify: options.${key} is not an option (expected threshold, minUnits, maxUnits, activeness)`);
  }
  const t = o.threshold;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t >= 1) {
    throw new Error(
      `meSimplify: options.threshold must be a number in [0, 1) (the least activeness a unit needs to stay), got ${show(t)}`,
    );
  }
  const m = o.minUnits ?? 1;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1)
    throw new Error(`meSimplify: options.minUnits must be an integer >= 1, got ${show(o.minUnits)}`);
  const cap = o.maxUnits ?? Infinity;
  if (cap !== Infinity && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < m))
    throw new Error(`meSimplify: options.maxUnits must be an integer >= minUnits (${m}), got ${show(o.maxUnits)}`);
  if (o.activeness !== undefined && (o.activeness === null || typeof o.activeness !== 'object')) {
    throw new Error(`meSimplify: options.activeness must be the object of ActivenessTracker.read(), got ${show(o.activeness)}`);
  }
  return { threshold: t, minUnits: m, maxUnits: cap, activeness: o.activeness as ActivenessMap | undefined };
}

/**
 * Units at or above the threshold, at most maxUnits of them (the most active); if fewer than minUnits, the
 * minUnits most active. Ascending indices; ties in activeness go to the lower index.
 */
function keptUnits(a: Float32Array, threshold: number, minUnits: number, maxUnits = Infinity): number[] {
  const kept: number[] = [];
  for (let j = 0; j < a.length; j++) if (a[j] >= threshold) kept.push(j);
  if (kept.length >= Math.min(minUnits, a.length) && kept.length <= maxUnits) return kept;
  const order = Array.from(a.keys()).sort((x, y) => a[y] - a[x] || x - y);
  const n = kept.length > maxUnits ? maxUnits : Math.min(minUnits, a.length);
  return order.slice(0, n).sort((x, y) => x - y);
}

/** A copy with its own buffer (tf.clone would share it). */
function copy(w: tf.Tensor): tf.Tensor {
  return tf.tensor(w.dataSync().slice(), w.shape, w.dtype);
}

/** tf.gather along `axis`, or a copy when every index is kept (null). */
function take(w: tf.Tensor, axis: number, idx: number[] | null): tf.Tensor {
  if (idx === null) return copy(w);
  return tf.gather(w, tf.tensor1d(idx, 'int32'), axis);
}

/** Columns of a [.., gates * units] weight that belong to the kept units. */
function gateColumns(kept: number[] | null, units: number, gates: number): number[] | null {
  if (kept === null) return null;
  const cols: number[] = [];
  for (let g = 0; g < gates; g++) for (const j of kept) cols.push(g * units + j);
  return cols;
}

/** Which units and input rows each layer keeps (null: all). */
export interface SimplifyPlan {
  outKept: Map<string, number[]>;
  inKept: Map<string, number[]>;
}

/**
 * The simplified version of weight number `index` of `layer` (or of a tensor shaped like it, such as an
 * optimizer slot), for a Dense / LSTM / GRU / SimpleRNN layer; a copy when the layer is unchanged.
 */
export function simplifiedWeight(layer: Layer, index: number, w: tf.Tensor, plan: SimplifyPlan): tf.Tensor {
  const outKept = plan.outKept.get(layer.name) ?? null;
  const inKept = plan.inKept.get(layer.name) ?? null;
  if (outKept === null && inKept === null) return copy(w);
  const cls = layer.getClassName();
  const gates = GATES[cls] ?? GATES[`MeProp>${cls}`];
  const units = (layer.getConfig() as { units: number }).units;
  const cols = gateColumns(outKept, units, gates);
  const recurrent = index === 1 && layer.weights.length >= 2 && layer.weights[1].shape.length === 2;
  // Copied once more: wasm's gather leaves its output's buffer registered with a 4-D shape (the result is a
  // reshape of it), and wasm's fused matMul rejects such a buffer as a bias.
  return tf.tidy(() => {
    if (index === 0) return copy(take(take(w, 0, inKept), 1, cols));
    if (recurrent) return copy(take(take(w, 0, outKept), 1, cols));
    return copy(take(w, 0, cols));
  });
}

interface ConfigEntry {
  className: string;
  config: { [key: string]: unknown };
}

/** Turns every MeProp> class of a (nested) config back into tfjs's own; throws if tfjs has no such class. */
function toPlainClasses(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(toPlainClasses);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const e = node as ConfigEntry;
  if (typeof e.className === 'string' && e.className.startsWith('MeProp>') && e.config !== null && typeof e.config === 'object') {
    const plain = e.className.slice('MeProp>'.length);
    if (serialization.SerializationMap.getMap().classNameMap[plain] === undefined) {
      throw new Error(`meSimplify: layer class '${e.className}' has no plain tfjs counterpart '${plain}'`);
    }
    e.className = plain;
    for (const key of ME_PROP_KEYS) delete e.config[key];
  }
  for (const v of Object.values(node)) toPlainClasses(v);
}

function layerEntries(cfg: { layers?: unknown }): ConfigEntry[] {
  return Array.isArray(cfg.layers) ? (cfg.layers as ConfigEntry[]) : [];
}

/**
 * A new, plain tfjs `LayersModel` (tfjs's own layer classes only: it loads without the `@meprop/*` packages) with
 * the rarely-kept units of `model`'s meProp Dense / LSTM / GRU / SimpleRNN layers removed: units whose
 * activeness (recorded by `trackActiveness` while training) is below `threshold`. The model's output layers
 * are not simplified, nor layers whose units reach something other than Dense / LSTM / GRU / SimpleRNN
 * weights (through Dropout and elementwise activations); the report says why. Weights are copied: the
 * original is untouched. The result is not compiled.
 */
export async function meSimplify(
  model: LayersModel,
  options: MeSimplifyOptions,
): Promise<{ model: LayersModel; report: MeSimplifyReport }> {
  const { model: simplified, report } = await meSimplifyWithPlan(model, options);
  return { model: simplified, report };
}

/** meSimplify, also returning which units and rows each layer kept (for carrying optimizer state over). */
export async function meSimplifyWithPlan(
  model: LayersModel,
  options: MeSimplifyOptions,
): Promise<{ model: LayersModel; report: MeSimplifyReport; plan: SimplifyPlan }> {
  if (!(model instanceof LayersModel)) {
    throw new Error(
      `meSimplify: model must be a tf.LayersModel, got ${show((model as unknown as { constructor?: { name?: string } } | null)?.constructor?.name ?? model)}`,
    );
  }
  const { threshold, minUnits, maxUnits, activeness } = checkOptions(options);
  const layers = model.layers as Layer[];
  const inModel = new Set(layers);
  const outputs = new Set(model.outputs.map((t) => t.sourceLayer as Layer));

  // Activeness of each meProp layer, from the options or the layer's tracker.
  const found = new Map<Layer, LayerActiveness>();
  for (const layer of layers) {
    const a = activeness !== undefined ? activeness[layer.name] : await activenessOf(layer);
    if (a !== undefined && a !== null) found.set(layer, a);
  }
  if (activeness !== undefined) {
    for (const name of Object.keys(activeness)) {
      if (!layers.some((l) => l.name === name))
        throw new Error(`meSimplify: options.activeness names layer '${name}', which model '${model.name}' does not have`);
    }
  }
  if (![...found.values()].some((a) => a.rows > 0)) {
    throw new Error(
      `meSimplify: model '${model.name}' has no activeness: train it with meProp (mePropify) after trackActiveness(model), or pass options.activeness`,
    );
  }

  const report: MeSimplifyReport = {};
  const outKept = new Map<string, number[]>();
  const inKept = new Map<string, number[]>();
  for (const [layer, a] of found) {
    const cls = layer.getClassName();
    const units = a.units;
    const entry: LayerSimplification = { className: cls, before: units, after: units, kept: Array.from(a.activeness.keys()) };
    report[layer.name] = entry;
    const wanted = keptUnits(a.activeness, threshold, minUnits, maxUnits);
    if (wanted.length === units) continue;
    let reason: string | null = null;
    if (GATES[cls] === undefined) reason = `${cls} layers are not simplified`;
    else if (a.rows === 0) reason = 'no gradient recorded since tracking started';
    else if (
      cls === 'MeProp>Dense' &&
      MIXING_ACTIVATIONS.has(String((layer.getConfig() as { activation?: unknown }).activation))
    ) {
      reason = 'its activation mixes the units';
    } else if ((layer.getConfig() as { returnState?: boolean }).returnState === true) reason = 'it returns its states';
    let takers: Layer[] = [];
    if (reason === null) {
      const c = unitConsumers(layer, inModel, outputs);
      if ('reason' in c) reason = c.reason;
      else takers = c.takers;
    }
    if (reason !== null) {
      entry.reason = reason;
      continue;
    }
    entry.after = wanted.length;
    entry.kept = wanted;
    outKept.set(layer.name, wanted);
    for (const t of takers) inKept.set(t.name, wanted);
  }

  const plan: SimplifyPlan = { outKept, inKept };
  const cfg = JSON.parse(JSON.stringify(model.getConfig())) as { layers?: unknown };
  toPlainClasses(cfg);
  for (const e of layerEntries(cfg)) {
    const kept = outKept.get(String(e.config.name));
    if (kept !== undefined) e.config.units = kept.length;
  }
  const cls = model.getClassName();
  const [ctor, fromConfig] = serialization.SerializationMap.getMap().classNameMap[cls];
  const simplified = (fromConfig as unknown as (c: unknown, cfg: unknown, custom: object, fast: boolean) => LayersModel)(
    ctor,
    cfg,
    {},
    true,
  );

  for (let i = 0; i < layers.length; i++) {
    const from = layers[i];
    const to = simplified.layers[i];
    if (to.name !== from.name)
      throw new Error(`meSimplify: internal error: layer ${i} of the copy is '${to.name}', expected '${from.name}'`);
    if (from.weights.length === 0) continue;
    // Real copies (not shared buffers): training either model never touches the other.
    const ws = from.getWeights().map((w, j) => simplifiedWeight(from, j, w, plan));
    to.setWeights(ws);
    tf.dispose(ws);
  }
  return { model: simplified, report, plan };
}
