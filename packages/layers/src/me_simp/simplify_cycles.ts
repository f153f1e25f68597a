// Training in cycles (meSimp): train a meProp copy of the model while counting activeness, simplify it at
// the end of the cycle, and go on training the smaller model. tfjs cannot swap a model inside `fit`, so the
// loop owns the models and calls the user's `train` once per cycle.
import * as tf from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import type { ModelCompileArgs } from '@tensorflow/tfjs-layers';
import { mePropify, type MePropifyOptions } from '../me_propify';
import { trackActiveness, type ActivenessMap } from './activeness';
import { meSimplifyWithPlan, type MeSimplifyReport } from './me_simplify';
import { renameSlots, simplifiedOptimizerState } from './optimizer_state';

export interface SimplifyCyclesOptions {
  /**
   * How each cycle's model is made a meProp model (k, mode, ...), as in `mePropify`; or a function of the
   * cycle (e.g. a k at least the layer width, i.e. exact gradients, to fine-tune in the last cycle).
   */
  mePropify: MePropifyOptions | ((cycle: number) => MePropifyOptions);
  /** Least activeness a unit needs to stay, in [0, 1) (the paper: 0.1 with k = 160 of 500). */
  threshold: number;
  /** Units each layer keeps at least. Default 1. */
  minUnits?: number;
  /** Number of cycles (train, then simplify), an integer >= 1. */
  cycles: number;
  /** A fresh optimizer for each cycle's model (its state is carried over, see keepOptimizerState). */
  optimizer: () => tf.Optimizer;
  /** The rest of `model.compile`'s arguments. */
  compile: Omit<ModelCompileArgs, 'optimizer'>;
  /** Trains the cycle's (compiled, meProp) model, e.g. `model.fit(x, y, { epochs: 5 })`. */
  train: (model: LayersModel, cycle: number) => Promise<void>;
  /**
   * Carry the optimizer's state (moments, step count) over to the smaller model, cut like the weights
   * (default true). false, or an optimizer whose state is not per weight: each cycle starts afresh (the
   * paper's code re-initializes Adam at each cycle).
   */
  keepOptimizerState?: boolean;
  /** Simplify after the last cycle too (default true); false ends with a plain copy of the last cycle's model. */
  simplifyLast?: boolean;
  /** Called after each cycle with the plain (simplified) model; do not dispose it. */
  onCycleEnd?: (info: CycleEnd) => void | Promise<void>;
}

export interface CycleEnd {
  cycle: number;
  /** The plain tfjs model after this cycle's simplification. */
  model: LayersModel;
  report: MeSimplifyReport;
  /** Units per simplified layer after the cycle. */
  units: { [layerName: string]: number };
  activeness: ActivenessMap;
  /** Whether the optimizer's state was carried over into the next cycle. */
  optimizerStateKept: boolean;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

function checkOptions(o: unknown): SimplifyCyclesOptions {
  if (o === null || typeof o !== 'object') throw new Error(`simplifyInCycles: options must be an object, got ${show(o)}`);
  const opts = o as SimplifyCyclesOptions;
  const known = [
    'mePropify',
    'threshold',
    'minUnits',
    'cycles',
    'optimizer',
    'compile',
    'train',
    'keepOptimizerState',
    'simplifyLast',
    'onCycleEnd',
  ];
  for (const key of Object.keys(opts))
    if (!known.includes(key)) throw new Error(`simplifyInCycles: options.${key} is not an option (expected ${known.join(', ')})`);
  if (typeof opts.cycles !== 'number' || !Number.isInteger(opts.cycles) || opts.cycles < 1)
    throw new Error(`simplifyInCycles: options.cycles must be an integer >= 1, got ${show(opts.cycles)}`);
  if (typeof opts.optimizer !== 'function')
    throw new Error(
      `simplifyInCycles: options.optimizer must be a function returning a fresh tf.Optimizer, got ${show(opts.optimizer)}`,
    );
  if (typeof opts.train !== 'function')
    throw new Error(
      `simplifyInCycles: options.train must be a function (model, cycle) => Promise<void>, got ${show(opts.train)}`,
    );
  if (opts.compile === null || typeof opts.compile !== 'object')
    throw new Error(
      `simplifyInCycles: options.compile must be model.compile's arguments without the optimizer, got ${show(opts.compile)}`,
    );
  if (opts.onCycleEnd !== undefined && typeof opts.onCycleEnd !== 'function')
    throw new Error(`simplifyInCycles: options.onCycleEnd must be a function, got ${show(opts.onCycleEnd)}`);
  return opts;
}

/**
 * Trains `model` (a plain tfjs model; it is not modified) in cycles: each cycle trains a meProp copy with
 * `options.train` while counting activeness, then removes the units below `options.threshold`
 * (meSimplify) and hands the smaller plain model to the next cycle. Resolves to the final plain model and
 * the per-cycle records.
 */
export async function simplifyInCycles(
  model: LayersModel,
  options: SimplifyCyclesOptions,
): Promise<{ model: LayersModel; cycles: Array<Omit<CycleEnd, 'model'>> }> {
  if (!(model instanceof LayersModel)) throw new Error(`simplifyInCycles: model must be a tf.LayersModel, got ${show(model)}`);
  const o = checkOptions(options);
  // Checked before any training: a bad threshold or minUnits should not cost a cycle.
  if (typeof o.threshold !== 'number' || !Number.isFinite(o.threshold) || o.threshold < 0 || o.threshold >= 1) {
    throw new Error(`simplifyInCycles: options.threshold must be a number in [0, 1), got ${show(o.threshold)}`);
  }
  const minUnits = o.minUnits ?? 1;
  if (typeof minUnits !== 'number' || !Number.isInteger(minUnits) || minUnits < 1)
    throw new Error(`simplifyInCycles: options.minUnits must be an integer >= 1, got ${show(o.minUnits)}`);
  const keepState = o.keepOptimizerState ?? true;
  const simplifyLast = o.simplifyLast ?? true;

  const records: Array<Omit<CycleEnd, 'model'>> = [];
  let current = model;
  let carried: Awaited<ReturnType<tf.Optimizer['getWeights']>> | null = null;
  for (let cycle = 0; cycle < o.cycles; cycle++) {
    const { model: me } = mePropify(current, typeof o.mePropify === 'function' ? o.mePropify(cycle) : o.mePropify);
    const optimizer = o.optimizer();
    if (carried !== null) {
      // setWeights makes variables of the tensors (sharing their buffers): ours can go.
      await optimizer.setWeights(renameSlots(carried, current, me));
      tf.dispose(carried.map((s) => s.tensor));
      carried = null;
    }
    if (current !== model) current.dispose();
    me.compile({ ...o.compile, optimizer });
    const tracker = trackActiveness(me);
    try {
      await o.train(me, cycle);
      const activeness = await tracker.read();
      const last = cycle === o.cycles - 1;
      const threshold = last && !simplifyLast ? 0 : o.threshold;
      const { model: simple, report, plan } = await meSimplifyWithPlan(me, { threshold, minUnits, activeness });
      if (!last && keepState) carried = await simplifiedOptimizerState(optimizer, me, simple, plan);
      const units: { [layerName: string]: number } = {};
      for (const [name, r] of Object.entries(report)) units[name] = r.after;
      const record = { cycle, report, units, activeness, optimizerStateKept: carried !== null };
      records.push(record);
      current = simple;
      if (o.onCycleEnd !== undefined) await o.onCycleEnd({ ...record, model: simple });
    } finally {
      tracker.dispose();
      optimizer.dispose();
      me.dispose();
    }
  }
  return { model: current, cycles: records };
}
