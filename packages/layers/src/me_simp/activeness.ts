// Activeness (meSimp, Sun et al. 2017): how often each hidden unit of a meProp layer is among the entries
// that meProp's top-k keeps in the backward pass. The meProp layers pass their pre-activation through
// `countKept`, an identity whose gradient re-ranks dy as @meprop/core does and adds the kept entries per
// unit to a counter variable on the device: no tensor is read during training, only when simplifying.
import * as tf from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import type { layers } from '@tensorflow/tfjs-layers';

type Layer = layers.Layer;
import { keptCount, MePropConfig } from '@meprop/core';

/** One layer's counter: kept (non-zero) gradient entries per unit, summed over the rows it has seen. */
interface KeptCounter {
  readonly units: number;
  /** Gradient entries per unit and row: 4 in LSTM (i, f, c, o), 3 in GRU (z, r, h), 1 in Dense and SimpleRNN. */
  readonly gates: number;
  readonly config: MePropConfig;
  /** [units] float32, on the device; exact for counts below 2^24. */
  readonly counts: tf.Variable;
  /** Rows of dy seen (examples × time steps); a shape, so it is known without reading a tensor. */
  rows: number;
}

// The layer (Dense) or cell (LSTM/GRU/SimpleRNN) → its counter. Only tracked layers have one; `countKept`
// is then a plain pass-through.
const counters = new WeakMap<object, KeptCounter>();

/** Adds the kept entries of dy [rows, gates * units] to the counter, with meProp's rule for `config`. */
function record(counter: KeptCounter, dy: tf.Tensor): void {
  const n = counter.gates * counter.units;
  const flat = tf.reshape(dy, [-1, n]) as tf.Tensor2D;
  const m = flat.shape[0];
  const k = keptCount(counter.config.k, n);
  const mag = tf.abs(flat);
  const nonZero = tf.greater(mag, 0);
  let kept: tf.Tensor;
  if (counter.config.mode === 'unified') {
    // One set of k columns for the batch, ranked by Σ|dy| over the rows (as core's unified mode).
    const score = tf.sum(mag, 0);
    const kth = tf.slice(tf.topk(score, k).values, [k - 1], [1]);
    kept = tf.logicalAnd(tf.greaterEqual(score, kth), nonZero);
  } else {
    // Per row, the k largest |dy|. Entries equal to the k-th (ties) count too; with float gradients that
    // only happens for zeros, which are excluded: a kept zero changes no weight.
    const kth = tf.slice(tf.topk(mag, k).values, [0, k - 1], [m, 1]);
    kept = tf.logicalAnd(tf.greaterEqual(mag, kth), nonZero);
  }
  const perUnit = tf.sum(tf.reshape(tf.cast(kept, 'float32'), [m, counter.gates, counter.units]), [0, 1]);
  counter.counts.assign(tf.add(counter.counts, perUnit));
  counter.rows += m;
}

/**
 * Identity on `preActivation` (the output of a meProp layer's matmul, [..., gates * units]); when `owner`
 * is tracked, its gradient also records which entries meProp keeps. Called by the meProp layers.
 */
export function countKept(owner: object, preActivation: tf.Tensor): tf.Tensor {
  const counter = counters.get(owner);
  if (counter === undefined) return preActivation;
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => {
      tf.tidy(() => record(counter, dy));
      return [tf.clone(dy)];
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(preActivation) as tf.Tensor;
}

/** Whether `owner` is tracked (then its pre-activation must pass through `countKept`). */
export function isCountingKept(owner: object): boolean {
  return counters.has(owner);
}

/** Activeness of one layer. */
export interface LayerActiveness {
  units: number;
  gates: number;
  /** Rows of the output gradient seen since the last reset (examples × time steps). */
  rows: number;
  /** Per unit: kept gradient entries / (rows × gates), in [0, 1]; all zeros when rows is 0. */
  activeness: Float32Array;
}

/** Layer name → its activeness. */
export type ActivenessMap = { [layerName: string]: LayerActiveness };

interface Tracked {
  layer: Layer;
  counter: KeptCounter;
  owner: object;
}

const GATES: { [className: string]: number } = {
  'MeProp>Dense': 1,
  'MeProp>LSTM': 4,
  'MeProp>GRU': 3,
  'MeProp>SimpleRNN': 1,
  'MeProp>LSTMCell': 4,
  'MeProp>GRUCell': 3,
  'MeProp>SimpleRNNCell': 1,
};

/** The counters of a model's meProp layers; made by `trackActiveness`. */
export class ActivenessTracker {
  private disposed = false;

  /** @internal Made by `trackActiveness`. */
  constructor(private readonly tracked: Tracked[]) {}

  /** Names of the tracked layers. */
  get layerNames(): string[] {
    return this.tracked.map((t) => t.layer.name);
  }

  /** Reads the counters (the only read of the device, so call it when simplifying, not per step). */
  async read(): Promise<ActivenessMap> {
    this.assertAlive('read');
    const out: ActivenessMap = {};
    for (const { layer, counter } of this.tracked) {
      const counts = (await counter.counts.data()) as Float32Array;
      const denom = counter.rows * counter.gates;
      const activeness = new Float32Array(counter.units);
      if (denom > 0) for (let j = 0; j < counter.units; j++) activeness[j] = counts[j] / denom;
      out[layer.name] = { units: counter.units, gates: counter.gates, rows: counter.rows, activeness };
    }
    return out;
  }

  /** Zeroes every counter (e.g. at the start of a cycle). */
  reset(): void {
    this.assertAlive('reset');
    for (const { counter } of this.tracked) {
      tf.tidy(() => counter.counts.assign(tf.zerosLike(counter.counts)));
      counter.rows = 0;
    }
  }

  /** Stops counting and frees the counters. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { counter, owner } of this.tracked) {
      if (counters.get(owner) === counter) counters.delete(owner);
      counter.counts.dispose();
    }
  }

  private assertAlive(fn: string): void {
    if (this.disposed) throw new Error(`ActivenessTracker.${fn}: the tracker was disposed`);
  }
}

function meProp(l: Layer): { mePropConfig?: MePropConfig } {
  return l as unknown as { mePropConfig?: MePropConfig };
}

/** The object whose `call` runs the layer's matmuls: the layer itself (Dense) or its cell (RNNs). */
function ownerOf(layer: Layer): { owner: object; className: string; units: number; config: MePropConfig } | null {
  const cls = layer.getClassName();
  if (cls === 'MeProp>Dense') {
    const config = meProp(layer).mePropConfig as MePropConfig;
    return { owner: layer, className: cls, units: (layer as unknown as { units: number }).units, config };
  }
  const cell = (layer as unknown as { cell?: Layer }).cell;
  if (cell !== undefined && cell !== null && !Array.isArray(cell) && GATES[cell.getClassName()] !== undefined) {
    const config = meProp(cell).mePropConfig as MePropConfig;
    return { owner: cell, className: cell.getClassName(), units: (cell as unknown as { units: number }).units, config };
  }
  return null;
}

function collect(model: LayersModel, into: Layer[]): void {
  for (const l of model.layers) {
    if (l instanceof LayersModel) collect(l, into);
    else into.push(l);
  }
}

/**
 * Starts counting, during training, how often each unit of every meProp Dense / LSTM / GRU / SimpleRNN
 * layer of `model` (also in nested models and `tf.layers.rnn` with a meProp cell) is among the kept
 * gradient entries. Layers in Bidirectional / TimeDistributed wrappers are not tracked. Counting costs one
 * top-k of dy per layer and step on the device; nothing is read until `read()`.
 */
export function trackActiveness(model: LayersModel): ActivenessTracker {
  if (!(model instanceof LayersModel)) {
    throw new Error(
      `trackActiveness: model must be a tf.LayersModel, got ${String((model as unknown as { constructor?: { name?: string } } | null)?.constructor?.name ?? model)}`,
    );
  }
  const layers: Layer[] = [];
  collect(model, layers);
  const tracked: Tracked[] = [];
  for (const layer of layers) {
    const o = ownerOf(layer);
    if (o === null) continue;
    if (o.config.mode === 'random') {
      throw new Error(
        `trackActiveness: layer '${layer.name}' uses meProp mode 'random': its kept entries are drawn at random, so they say nothing about the units; use 'per-example' or 'unified'`,
      );
    }
    if (counters.has(o.owner)) {
      throw new Error(`trackActiveness: layer '${layer.name}' is already tracked (dispose the other tracker first)`);
    }
    const counter: KeptCounter = {
      units: o.units,
      gates: GATES[o.className],
      config: o.config,
      counts: tf.tidy(() => tf.variable(tf.zeros([o.units]), false)),
      rows: 0,
    };
    tracked.push({ layer, counter, owner: o.owner });
  }
  if (tracked.length === 0) {
    throw new Error(
      `trackActiveness: model '${model.name}' has no meProp Dense/LSTM/GRU/SimpleRNN layer (convert it with mePropify first)`,
    );
  }
  for (const t of tracked) counters.set(t.owner, t.counter);
  return new ActivenessTracker(tracked);
}

/** The tracker's counter of `layer`, if any: used by meSimplify to find a model's activeness. */
export async function activenessOf(layer: Layer): Promise<LayerActiveness | null> {
  const o = ownerOf(layer);
  if (o === null) return null;
  const c = counters.get(o.owner);
  if (c === undefined) return null;
  const counts = (await c.counts.data()) as Float32Array;
  const denom = c.rows * c.gates;
  const activeness = new Float32Array(c.units);
  if (denom > 0) for (let j = 0; j < c.units; j++) activeness[j] = counts[j] / denom;
  return { units: c.units, gates: c.gates, rows: c.rows, activeness };
}
