// Training in cycles (meSimp): train a meProp copy of the model while counting activeness, simplify it,
// and go on training the smaller model. A cycle is split into parts; in a simplifying cycle every part ends
// with a simplification (the paper's code prunes 8 times per epoch), so units go gradually. tfjs cannot swap
// a model inside `fit`, so the loop owns the models and calls the user's `train` once per part.
import * as tf from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import type { layers } from '@tensorflow/tfjs-layers';
import type { ModelCompileArgs } from '@tensorflow/tfjs-layers';
import { mePropify, type MePropifyOptions } from '../me_propify';
import { trackActiveness, type ActivenessMap, type ActivenessTracker } from './activeness';
import { meSimplifyWithPlan, type MeSimplifyReport } from './me_simplify';
import { renameSlots, simplifiedOptimizerState } from './optimizer_state';

type Layer = layers.Layer;
type OptimizerState = Awaited<ReturnType<tf.Optimizer['getWeights']>>;

/**
 * Self-distillation (opt-in): after a simplification removed units, the model just before it is kept as a
 * teacher, and `train`'s `targets(x, y)` mixes the labels with the teacher's softened predictions:
 * `(1 - weight) * y + weight * softmax(log(teacher(x)) / temperature)`. With the usual categorical
 * cross-entropy this is the distillation loss `(1 - weight) * CE(y, p) + weight * CE(teacher, p)`; with
 * temperature > 1 the teacher's probabilities are flattened (the student's are not).
 */
export interface DistillOptions {
  /** Share of the teacher's soft targets in the mix, in (0, 1]. */
  weight: number;
  /** Temperature applied to the teacher's probabilities, > 0. Default 1. */
  temperature?: number;
  /**
   * Which model teaches: 'last-cut' (default) the model just before the most recent simplification that
   * removed units; 'first-cut' the model just before the first one (the widest trained model), kept to the end.
   */
  teacher?: 'last-cut' | 'first-cut';
}

/** What `train` gets besides the model: the distillation teacher and the targets to fit. */
export interface TrainHelpers {
  /** The teacher (a plain model; do not dispose or train it); null without options.distill or before the first cut. */
  teacher: LayersModel | null;
  /**
   * The targets to fit `x` with: `y` mixed with the teacher's softened predictions on `x` (see DistillOptions),
   * or a copy of `y` when there is no teacher. A new tensor: dispose it. `batchSize` is the teacher's
   * predict() batch (default: all of x at once).
   */
  targets: (x: tf.Tensor, y: tf.Tensor, batchSize?: number) => tf.Tensor;
}

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
  /**
   * Units each layer keeps at most after a simplification (its most active ones), on top of the threshold:
   * an integer >= minUnits, or a function of the cycle and part returning one (or undefined: no cap), e.g. a
   * width that shrinks step by step to a target. Default: no cap.
   */
  maxUnits?: number | ((cycle: number, part: number) => number | undefined);
  /** Number of cycles, an integer >= 1. */
  cycles: number;
  /**
   * Training parts per cycle, an integer >= 1 or a function of the cycle returning one (default 1):
   * `train(model, cycle, part)` is called once per part, and in a simplifying cycle every part ends with a
   * simplification, so units go a few at a time (the paper's code: 8 parts per epoch). Between the parts
   * of a cycle the optimizer's state (when it is per weight) is always carried over, cut like the weights
   * (as the paper's masking keeps it); activeness restarts after each simplification.
   */
  partsPerCycle?: number | ((cycle: number) => number);
  /**
   * Whether a cycle simplifies (default: every cycle, or every cycle but the last with `simplifyLast:
   * false`). A cycle that does not simplify trains the current size (the paper's code alternates:
   * `(c) => c % 2 === 0`). Not together with `simplifyLast`.
   */
  simplifyCycle?: (cycle: number) => boolean;
  /**
   * A fresh optimizer for each model (its state is carried over, see keepOptimizerState); it is given the
   * cycle, so e.g. the last cycle can fine-tune at a lower learning rate.
   */
  optimizer: (cycle: number) => tf.Optimizer;
  /** The rest of `model.compile`'s arguments. */
  compile: Omit<ModelCompileArgs, 'optimizer'>;
  /**
   * Trains the part's (compiled, meProp) model, e.g. `model.fit(x, y, { epochs: 5 })`; `part` counts from
   * 0 to partsPerCycle - 1. The model changes after every part that removed units. With `distill`, fit
   * `helpers.targets(x, y)` instead of `y`.
   */
  train: (model: LayersModel, cycle: number, part: number, helpers: TrainHelpers) => Promise<void>;
  /**
   * Self-distillation from the model before a cut (see DistillOptions); needs a model with one output whose
   * layer ends in a softmax. Default: none.
   */
  distill?: DistillOptions;
  /**
   * Carry the optimizer's state (moments, step count) over from one cycle to the next, cut like the weights
   * (default true). false, or an optimizer whose state is not per weight: each cycle starts afresh (the
   * paper's code clears Adam's moments at the end of each cycle).
   */
  keepOptimizerState?: boolean;
  /** Simplify in the last cycle too (default true); false ends with a plain copy of the last cycle's model. */
  simplifyLast?: boolean;
  /** Called after each cycle with the plain (simplified) model; do not dispose it. */
  onCycleEnd?: (info: CycleEnd) => void | Promise<void>;
}

export interface CycleEnd {
  cycle: number;
  /** The plain tfjs model after this cycle. */
  model: LayersModel;
  /**
   * The cycle's simplification: `before` = units at the start of the cycle, `after` = at its end, `kept` =
   * indices into the units at the start of the cycle (all its parts together).
   */
  report: MeSimplifyReport;
  /** Units per simplified layer after the cycle. */
  units: { [layerName: string]: number };
  /** Units per layer after each part of a simplifying cycle; one entry (its end) for a cycle that does not simplify. */
  partUnits: Array<{ [layerName: string]: number }>;
  /** Activeness of the cycle's last part (since the last simplification). */
  activeness: ActivenessMap;
  /** Whether the optimizer's state was carried over into the next cycle. */
  optimizerStateKept: boolean;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

const KNOWN = [
  'mePropify',
  'threshold',
  'minUnits',
  'maxUnits',
  'cycles',
  'partsPerCycle',
  'simplifyCycle',
  'optimizer',
  'compile',
  'train',
  'keepOptimizerState',
  'simplifyLast',
  'onCycleEnd',
  'distill',
];

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

function checkOptions(o: unknown): SimplifyCyclesOptions {
  if (o === null || typeof o !== 'object') throw new Error(`simplifyInCycles: options must be an object, got ${show(o)}`);
  const opts = o as SimplifyCyclesOptions;
  for (const key of Object.keys(opts))
    if (!KNOWN.includes(key)) throw new Error(`simplifyInCycles: options.${key} is not an option (expected ${KNOWN.join(', ')})`);
  if (!isCount(opts.cycles))
    throw new Error(`simplifyInCycles: options.cycles must be an integer >= 1, got ${show(opts.cycles)}`);
  if (opts.partsPerCycle !== undefined && typeof opts.partsPerCycle !== 'function' && !isCount(opts.partsPerCycle))
    throw new Error(
      `simplifyInCycles: options.partsPerCycle must be an integer >= 1 or a function of the cycle, got ${show(opts.partsPerCycle)}`,
    );
  if (opts.simplifyCycle !== undefined && typeof opts.simplifyCycle !== 'function')
    throw new Error(
      `simplifyInCycles: options.simplifyCycle must be a function (cycle) => boolean, got ${show(opts.simplifyCycle)}`,
    );
  if (opts.simplifyCycle !== undefined && opts.simplifyLast !== undefined)
    throw new Error(
      `simplifyInCycles: give options.simplifyCycle or options.simplifyLast, not both (simplifyLast is ${show(opts.simplifyLast)})`,
    );
  if (typeof opts.optimizer !== 'function')
    throw new Error(
      `simplifyInCycles: options.optimizer must be a function returning a fresh tf.Optimizer, got ${show(opts.optimizer)}`,
    );
  if (typeof opts.train !== 'function')
    throw new Error(
      `simplifyInCycles: options.train must be a function (model, cycle, part) => Promise<void>, got ${show(opts.train)}`,
    );
  if (opts.compile === null || typeof opts.compile !== 'object')
    throw new Error(
      `simplifyInCycles: options.compile must be model.compile's arguments without the optimizer, got ${show(opts.compile)}`,
    );
  if (opts.onCycleEnd !== undefined && typeof opts.onCycleEnd !== 'function')
    throw new Error(`simplifyInCycles: options.onCycleEnd must be a function, got ${show(opts.onCycleEnd)}`);
  // Checked before any training: a bad threshold or minUnits should not cost a cycle.
  const t = opts.threshold;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t >= 1)
    throw new Error(`simplifyInCycles: options.threshold must be a number in [0, 1), got ${show(t)}`);
  if (opts.minUnits !== undefined && !isCount(opts.minUnits))
    throw new Error(`simplifyInCycles: options.minUnits must be an integer >= 1, got ${show(opts.minUnits)}`);
  if (opts.maxUnits !== undefined && typeof opts.maxUnits !== 'function')
    checkMaxUnits(opts.maxUnits, opts.minUnits ?? 1, 'options.maxUnits');
  if (opts.distill !== undefined) checkDistill(opts.distill);
  return opts;
}

const DISTILL_KNOWN = ['weight', 'temperature', 'teacher'];

function checkDistill(d: unknown, what = 'simplifyInCycles: options.distill'): void {
  if (d === null || typeof d !== 'object')
    throw new Error(`${what} must be an object { weight, temperature?, teacher? }, got ${show(d)}`);
  const o = d as DistillOptions;
  for (const key of Object.keys(o))
    if (!DISTILL_KNOWN.includes(key)) throw new Error(`${what}.${key} is not an option (expected ${DISTILL_KNOWN.join(', ')})`);
  if (typeof o.weight !== 'number' || !Number.isFinite(o.weight) || o.weight <= 0 || o.weight > 1)
    throw new Error(`${what}.weight must be a number in (0, 1], got ${show(o.weight)}`);
  if (o.temperature !== undefined && (typeof o.temperature !== 'number' || !Number.isFinite(o.temperature) || o.temperature <= 0))
    throw new Error(`${what}.temperature must be a number > 0, got ${show(o.temperature)}`);
  if (o.teacher !== undefined && o.teacher !== 'last-cut' && o.teacher !== 'first-cut')
    throw new Error(`${what}.teacher must be 'last-cut' or 'first-cut', got ${show(o.teacher)}`);
}

/** Distillation mixes probabilities: the model must have one output, from a layer with a softmax activation. */
function checkSoftmaxOutput(model: LayersModel, what = 'simplifyInCycles: options.distill needs a model'): void {
  if (model.outputs.length !== 1) throw new Error(`${what} with one output, model '${model.name}' has ${model.outputs.length}`);
  const layer = model.outputs[0].sourceLayer as Layer;
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  if (activation !== 'softmax')
    throw new Error(
      `${what} whose output layer ends in a softmax; layer '${layer.name}' has activation ${show(activation ?? null)}`,
    );
}

/**
 * Distillation targets: `(1 - weight) * y + weight * softmax(log(teacher(x)) / temperature)` (a new tensor),
 * or a copy of `y` when `teacher` or `d` is null/undefined. `teacher` must output probabilities (a softmax);
 * `batchSize` is its predict() batch (default: all of x). simplifyInCycles' `helpers.targets` with its own
 * teacher; exported to distill from any model (e.g. a small model from scratch from a trained wide one).
 */
export function distillationTargets(
  teacher: LayersModel | null,
  d: DistillOptions | undefined,
  x: tf.Tensor,
  y: tf.Tensor,
  batchSize?: number,
): tf.Tensor {
  if (teacher === null || d === undefined) return tf.clone(y);
  checkDistill(d, 'distillationTargets: options');
  checkSoftmaxOutput(teacher, 'distillationTargets needs a teacher');
  return tf.tidy(() => {
    const p = teacher.predict(x, { batchSize: batchSize ?? x.shape[0] }) as tf.Tensor;
    if (p.shape.length !== y.shape.length || p.shape.some((n, i) => n !== y.shape[i]))
      throw new Error(
        `distillationTargets: y has shape [${y.shape.join(', ')}], the teacher's output for x [${p.shape.join(', ')}]`,
      );
    const t = d.temperature ?? 1;
    // log of a probability that underflowed to 0 would be -Infinity: floor it (exp(-69) ~ 1e-30).
    const soft = t === 1 ? p : tf.softmax(tf.div(tf.log(tf.maximum(p, 1e-30)), t));
    return tf.add(tf.mul(y, 1 - d.weight), tf.mul(soft, d.weight));
  });
}

function checkMaxUnits(v: unknown, minUnits: number, what: string): number | undefined {
  if (v !== undefined && !(isCount(v) && v >= minUnits))
    throw new Error(
      `simplifyInCycles: ${what} must be an integer >= minUnits (${minUnits})${what.endsWith(')') ? ' or undefined' : ' or a function (cycle, part) => number'}, got ${show(v)}`,
    );
  return v as number | undefined;
}

/** A meProp copy of a plain model being trained: its optimizer and activeness tracker. */
interface Session {
  me: LayersModel;
  optimizer: tf.Optimizer;
  tracker: ActivenessTracker;
}

/** mePropify `plain`, compile it with a fresh optimizer holding `state` (made for `plain`'s variables), track it. */
async function startSession(
  plain: LayersModel,
  meOptions: MePropifyOptions,
  o: SimplifyCyclesOptions,
  state: OptimizerState | null,
  cycle: number,
): Promise<Session> {
  const { model: me } = mePropify(plain, meOptions);
  const optimizer = o.optimizer(cycle);
  if (state !== null) {
    // setWeights makes variables of the tensors (sharing their buffers): ours can go.
    await optimizer.setWeights(renameSlots(state, plain, me));
    tf.dispose(state.map((s) => s.tensor));
  }
  me.compile({ ...o.compile, optimizer });
  return { me, optimizer, tracker: trackActiveness(me) };
}

function endSession(s: Session): void {
  s.tracker.dispose();
  s.optimizer.dispose();
  s.me.dispose();
}

/** Folds one simplification into the cycle's report: sizes from the cycle's start, kept indices into them. */
function compose(into: MeSimplifyReport, step: MeSimplifyReport): void {
  for (const [name, r] of Object.entries(step)) {
    const prev = into[name];
    if (prev === undefined) {
      into[name] = { ...r, kept: [...r.kept] };
      continue;
    }
    const kept = r.kept.map((i) => prev.kept[i]);
    into[name] = { ...r, before: prev.before, kept, ...(r.reason !== undefined ? { reason: r.reason } : {}) };
  }
}

function unitsOf(report: MeSimplifyReport): { [layerName: string]: number } {
  const units: { [layerName: string]: number } = {};
  for (const [name, r] of Object.entries(report)) units[name] = r.after;
  return units;
}

/**
 * Trains `model` (a plain tfjs model; it is not modified) in cycles of `partsPerCycle` parts: each part
 * trains a meProp copy with `options.train` while counting activeness; in a simplifying cycle each part
 * then removes the units below `options.threshold` (meSimplify) and the next part trains the smaller model.
 * Resolves to the final plain model and the per-cycle records.
 */
export async function simplifyInCycles(
  model: LayersModel,
  options: SimplifyCyclesOptions,
): Promise<{ model: LayersModel; cycles: Array<Omit<CycleEnd, 'model'>> }> {
  if (!(model instanceof LayersModel)) throw new Error(`simplifyInCycles: model must be a tf.LayersModel, got ${show(model)}`);
  const o = checkOptions(options);
  if (o.distill !== undefined) checkSoftmaxOutput(model);
  const minUnits = o.minUnits ?? 1;
  const partsOf = (cycle: number): number => {
    const p = typeof o.partsPerCycle === 'function' ? o.partsPerCycle(cycle) : (o.partsPerCycle ?? 1);
    if (!isCount(p))
      throw new Error(`simplifyInCycles: options.partsPerCycle(${cycle}) must return an integer >= 1, got ${show(p)}`);
    return p;
  };
  const keepState = o.keepOptimizerState ?? true;
  const simplifyLast = o.simplifyLast ?? true;
  const simplifies = o.simplifyCycle ?? ((c: number) => simplifyLast || c < o.cycles - 1);

  const records: Array<Omit<CycleEnd, 'model'>> = [];
  let current = model;
  let carried: OptimizerState | null = null;
  let teacher: LayersModel | null = null;
  const helpers: TrainHelpers = {
    get teacher() {
      return teacher;
    },
    targets: (x, y, batchSize) => distillationTargets(teacher, o.distill, x, y, batchSize),
  };
  // After a cut that removed units: the model just before it (a plain copy) may become the teacher.
  const keepTeacher = async (before: LayersModel, activeness: ActivenessMap): Promise<void> => {
    if (o.distill === undefined || (teacher !== null && o.distill.teacher === 'first-cut')) return;
    const { model: copy } = await meSimplifyWithPlan(before, { threshold: 0, minUnits: 1, activeness });
    if (teacher !== null) teacher.dispose();
    teacher = copy;
  };
  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      const meOptions = typeof o.mePropify === 'function' ? o.mePropify(cycle) : o.mePropify;
      const simplifying = simplifies(cycle);
      const parts = partsOf(cycle);
      let session: Session | null = await startSession(current, meOptions, o, carried, cycle);
      carried = null;
      if (current !== model) current.dispose();
      const report: MeSimplifyReport = {};
      const partUnits: Array<{ [layerName: string]: number }> = [];
      let activeness: ActivenessMap = {};
      try {
        for (let part = 0; part < parts; part++) {
          await o.train(session.me, cycle, part, helpers);
          const lastPart = part === parts - 1;
          if (!simplifying && !lastPart) continue;
          activeness = await session.tracker.read();
          // A cycle that does not simplify still ends with a plain copy (threshold 0 keeps every unit).
          const maxUnits = !simplifying
            ? undefined
            : typeof o.maxUnits === 'function'
              ? checkMaxUnits(o.maxUnits(cycle, part), minUnits, `options.maxUnits(${cycle}, ${part})`)
              : o.maxUnits;
          const step = await meSimplifyWithPlan(session.me, {
            threshold: simplifying ? o.threshold : 0,
            minUnits,
            ...(maxUnits !== undefined ? { maxUnits } : {}),
            activeness,
          });
          compose(report, step.report);
          partUnits.push(unitsOf(step.report));
          const removed = Object.values(step.report).some((r) => r.after < r.before);
          if (removed) await keepTeacher(session.me, activeness);
          if (lastPart) {
            if (cycle < o.cycles - 1 && keepState)
              carried = await simplifiedOptimizerState(session.optimizer, session.me, step.model, step.plan);
            current = step.model;
          } else if (removed) {
            // Within a cycle the state always moves on, cut like the weights (the paper masks units instead).
            const state = await simplifiedOptimizerState(session.optimizer, session.me, step.model, step.plan);
            endSession(session);
            session = null;
            try {
              session = await startSession(step.model, meOptions, o, state, cycle);
            } finally {
              step.model.dispose();
            }
          } else {
            step.model.dispose();
            session.tracker.reset();
          }
        }
      } finally {
        if (session !== null) endSession(session);
      }
      const record = { cycle, report, units: unitsOf(report), partUnits, activeness, optimizerStateKept: carried !== null };
      records.push(record);
      if (o.onCycleEnd !== undefined) await o.onCycleEnd({ ...record, model: current });
    }
  } finally {
    if (teacher !== null) (teacher as LayersModel).dispose();
  }
  return { model: current, cycles: records };
}
