// `meprop-bench model`: meProp on the user's own model. Converts it with mePropify, checks that the forward
// pass is unchanged, and times real training steps (model.trainOnBatch, as model.fit runs them) of plain tfjs
// against the meProp copy, per optimizer, interleaved in one run so that machine load hits all variants alike.
import * as tf from '@tensorflow/tfjs';
import { getMePropStats, keptCount, resetMePropStats, type MePropConfig, type MePropMode } from '@meprop/core';
import { mePropify, sparseAdagrad, sparseAdam, sparseSgd, type MePropifyReport } from '@meprop/layers';
import type { ModelBatch, ModelIo } from '../data/model_batches';
import type { ModelFigures, ModelLayerRow, ModelOptimizerRow } from '../results/schema';
import type { Progress } from '../util/progress';
import { median, ratio } from '../util/stats';
import { timeInterleaved } from '../util/timing';

export const MODEL_OPTIMIZERS = ['adam', 'sgd', 'adagrad'] as const;
export type ModelOptimizerName = (typeof MODEL_OPTIMIZERS)[number];
export const MODEL_LEARNING_RATES: Record<ModelOptimizerName, number> = { adam: 0.001, sgd: 0.01, adagrad: 0.01 };

/** |plain - meProp| of the outputs, relative to max(1, max |plain|): meProp must not change the forward pass. */
export const FORWARD_TOLERANCE = 1e-4;

export interface ModelBenchOptions {
  source: string;
  k: number;
  mode: MePropMode;
  outputK?: number;
  overrides?: { [layerName: string]: Partial<MePropConfig> | false };
  optimizers: readonly ModelOptimizerName[];
  batchSize: number;
  steps: number;
  warmup: number;
  seed: number;
  /** 'synthetic' or the --data file, for the report. */
  dataLabel: string;
  minSpeedup?: number;
  progress: Progress;
}

function denseOptimizer(name: ModelOptimizerName, lr: number): tf.Optimizer {
  return name === 'adam' ? tf.train.adam(lr) : name === 'sgd' ? tf.train.sgd(lr) : tf.train.adagrad(lr);
}

function sparseOptimizer(name: ModelOptimizerName, lr: number): tf.Optimizer {
  return name === 'adam' ? sparseAdam(lr) : name === 'sgd' ? sparseSgd(lr) : sparseAdagrad(lr);
}

/** A layer by name, also inside nested models. */
function findLayer(model: tf.LayersModel, name: string): tf.layers.Layer | null {
  for (const layer of model.layers) {
    if (layer.name === name) return layer;
    if (layer instanceof tf.LayersModel) {
      const inner = findLayer(layer, name);
      if (inner) return inner;
    }
  }
  return null;
}

type Cfg = { units?: unknown; layer?: { className?: string; config?: Cfg }; cell?: { className?: string; config?: Cfg } };

/** Width of the output gradient top-k selects from: the gate pre-activations of recurrent layers. */
export function selectionWidth(layer: tf.layers.Layer): number | null {
  const cfg = layer.getConfig() as Cfg;
  const inner = cfg.layer?.config ?? cfg.cell?.config ?? cfg;
  const cls = cfg.layer?.className ?? cfg.cell?.className ?? layer.getClassName();
  const units = Number(inner.units);
  if (!Number.isFinite(units)) return null;
  return /LSTM/.test(cls) ? 4 * units : /GRU/.test(cls) ? 3 * units : units;
}

export function layerRows(model: tf.LayersModel, report: MePropifyReport): ModelLayerRow[] {
  const rows: ModelLayerRow[] = report.converted.map((c) => {
    const layer = findLayer(model, c.name);
    const width = layer ? selectionWidth(layer) : null;
    return {
      name: c.name,
      className: c.className,
      converted: true,
      k: c.k,
      mode: c.mode,
      width,
      keptFraction: width === null ? null : keptCount(c.k, width) / width,
      reason: null,
    };
  });
  for (const s of report.skipped) {
    rows.push({
      name: s.name,
      className: s.className,
      converted: false,
      k: null,
      mode: null,
      width: null,
      keptFraction: null,
      reason: s.reason,
    });
  }
  // In the model's own order.
  const order = new Map<string, number>();
  const walk = (m: tf.LayersModel): void => {
    for (const l of m.layers) {
      order.set(l.name, order.size);
      if (l instanceof tf.LayersModel) walk(l);
    }
  };
  walk(model);
  return rows.sort((a, b) => (order.get(a.name) ?? 1e9) - (order.get(b.name) ?? 1e9));
}

function asInput(ts: tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  return ts.length === 1 ? ts[0] : ts;
}

/** Largest |a - b| over all outputs, relative to max(1, max |a|). */
function forwardDifference(a: tf.LayersModel, b: tf.LayersModel, batch: ModelBatch): number {
  return tf.tidy(() => {
    const pa = [a.predict(asInput(batch.xs))].flat() as tf.Tensor[];
    const pb = [b.predict(asInput(batch.xs))].flat() as tf.Tensor[];
    let worst = 0;
    pa.forEach((t, i) => {
      const diff = tf.max(tf.abs(tf.sub(t, pb[i]))).dataSync()[0];
      const scale = Math.max(1, tf.max(tf.abs(t)).dataSync()[0]);
      worst = Math.max(worst, Number.isNaN(diff) ? Infinity : diff / scale);
    });
    return worst;
  });
}

function shortError(e: unknown): string {
  const msg = (e as Error)?.message ?? String(e);
  const line = msg.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

interface Variant {
  label: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  next: number;
  error: string | null;
}

function parameterCount(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/**
 * Measures `original` (left as it is apart from training steps: it is the plain variant) against its mePropify
 * copies on `batches`. Returns the figures; `failures` lists every check that failed.
 */
export async function runModelBench(
  original: tf.LayersModel,
  io: ModelIo,
  batches: ModelBatch[],
  opts: ModelBenchOptions,
): Promise<ModelFigures> {
  const convert = () =>
    mePropify(original, { k: opts.k, mode: opts.mode, seed: opts.seed, outputK: opts.outputK, overrides: opts.overrides });
  const { model: meProp, report } = convert();
  const { model: mePropSparse } = convert();
  const layers = layerRows(original, report);
  const failures: string[] = [];
  if (report.converted.length === 0) failures.push('no layer was converted to meProp (see the reasons per layer)');
  for (const l of layers)
    opts.progress.log(
      `  ${l.converted ? 'meProp' : 'exact '} ${l.name} (${l.className})${l.converted ? `: k=${l.k} of ${l.width ?? '?'} (${l.mode})` : `: ${l.reason}`}`,
    );

  const forwardMaxAbsDiff = forwardDifference(original, meProp, batches[0]);
  if (!(forwardMaxAbsDiff <= FORWARD_TOLERANCE)) {
    failures.push(
      `forward changed: max |plain - meProp| / max(1, |plain|) = ${forwardMaxAbsDiff.toExponential(2)} > ${FORWARD_TOLERANCE}`,
    );
  }
  opts.progress.log(
    `forward pass: max relative difference plain vs meProp ${forwardMaxAbsDiff.toExponential(2)} (tolerance ${FORWARD_TOLERANCE})`,
  );

  const loss = io.losses.length === 1 ? io.losses[0] : io.losses;
  const rows: ModelOptimizerRow[] = [];
  let measuredKeptFraction: number | null = null;
  for (const name of opts.optimizers) {
    const lr = MODEL_LEARNING_RATES[name];
    const task = opts.progress.task(`model ${name}`);
    const variants: Variant[] = [
      { label: 'plain tfjs', model: original, optimizer: denseOptimizer(name, lr), next: 0, error: null },
      { label: `meProp + tf.train.${name}`, model: meProp, optimizer: denseOptimizer(name, lr), next: 0, error: null },
      { label: `meProp + sparse ${name}`, model: mePropSparse, optimizer: sparseOptimizer(name, lr), next: 0, error: null },
    ];
    const step = (v: Variant) => async (): Promise<void> => {
      const b = batches[v.next++ % batches.length];
      await v.model.trainOnBatch(asInput(b.xs), asInput(b.ys));
    };
    for (const v of variants) {
      v.model.compile({ optimizer: v.optimizer, loss });
      try {
        for (let i = 0; i < Math.max(1, opts.warmup); i++) await step(v)();
      } catch (e) {
        v.error = shortError(e);
      }
    }
    if (measuredKeptFraction === null && variants[2].error === null) {
      resetMePropStats();
      await step(variants[2])();
      const stats = getMePropStats();
      measuredKeptFraction = stats.backwardCalls > 0 ? stats.keptFraction : null;
    }
    const live = variants.filter((v) => v.error === null);
    const samples = live.length > 0 ? await timeInterleaved(live.map(step), { warmup: 0, reps: opts.steps }) : [];
    const msOf = (v: Variant): number | null => (v.error === null ? median(samples[live.indexOf(v)]) : null);
    const [plainMs, mePropMs, mePropSparseMs] = variants.map(msOf);
    const skipped = variants
      .filter((v) => v.error !== null)
      .map((v) => `${v.label} cannot train on ${tf.getBackend()}: ${v.error}`);
    if (variants[0].error === null) {
      for (const v of variants.slice(1)) {
        if (v.error !== null) failures.push(`${name}: ${v.label} failed where plain tfjs trains: ${v.error}`);
      }
    }
    const row: ModelOptimizerRow = {
      optimizer: name,
      learningRate: lr,
      plainMs,
      mePropMs,
      mePropSparseMs,
      speedup: plainMs === null || mePropSparseMs === null ? null : ratio(plainMs, mePropSparseMs),
      speedupDenseOptimizer: plainMs === null || mePropMs === null ? null : ratio(plainMs, mePropMs),
      steps: opts.steps,
      skipped: skipped.length > 0 ? skipped.join('; ') : null,
    };
    if (opts.minSpeedup !== undefined) {
      if (row.speedup === null)
        failures.push(
          `model.${name}.speedup was not measured (${row.skipped ?? 'no timing'}), --min-speedup ${opts.minSpeedup} needs it`,
        );
      else if (row.speedup < opts.minSpeedup)
        failures.push(`model.${name}.speedup = ${row.speedup.toFixed(2)} is below --min-speedup ${opts.minSpeedup}`);
    }
    rows.push(row);
    for (const v of variants) v.optimizer.dispose();
    task.done(
      row.speedup === null
        ? `not timed: ${row.skipped ?? ''}`
        : `plain ${plainMs?.toFixed(1)} ms, meProp ${mePropSparseMs?.toFixed(1)} ms: ${row.speedup.toFixed(2)}x`,
    );
  }
  meProp.dispose();
  mePropSparse.dispose();
  return {
    source: opts.source,
    name: original.name,
    inputShapes: original.inputs.map((t) => t.shape),
    outputShapes: original.outputs.map((t) => t.shape),
    parameters: parameterCount(original),
    loss: io.losses.join(','),
    data: opts.dataLabel,
    forwardMaxAbsDiff,
    forwardTolerance: FORWARD_TOLERANCE,
    layers,
    measuredKeptFraction,
    optimizers: rows,
    minSpeedup: opts.minSpeedup ?? null,
    passed: failures.length === 0,
    failures,
  };
}

/** One line naming the model's inputs, outputs and size: `compare` refuses results of different models. */
export function modelSignature(model: tf.LayersModel): string {
  const shape = (s: (number | null)[]) => `[${s.map((d) => (d === null ? 'null' : String(d))).join(',')}]`;
  return (
    `in ${model.inputs.map((t) => shape(t.shape)).join(' ')} out ${model.outputs.map((t) => shape(t.shape)).join(' ')}, ` +
    `${model.layers.length} layers, ${parameterCount(model)} trainable parameters`
  );
}
