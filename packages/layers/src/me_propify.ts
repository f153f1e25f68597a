// mePropify: a copy of a tf.LayersModel whose Dense/LSTM/GRU/SimpleRNN layers are their meProp versions.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import { MePropConfig, MePropMode, validateMePropConfig } from '@meprop/core';
import { mePropConfigEntries } from './me_prop_args';
// The meProp classes must be registered before the copy is deserialized.
import './me_prop_dense';
import './recurrent';
import { addSeparableDepthMultipliers, CONV_LAYER_MAP, convSkipReason } from './conv_conversion';

export interface MePropifyOptions {
  /** k of every converted layer (an integer >= 1, or a fraction of the layer's width in (0, 1)). */
  k: number;
  mode?: MePropMode;
  seed?: number;
  /**
   * k of the model's output layer(s). Default: undefined, and the output layers stay exact (plain tfjs),
   * as in the paper's code: the loss gradient at the output is small and dense.
   */
  outputK?: number;
  /** Per-layer settings by layer name: a partial config overriding the above, or false to leave it exact. */
  overrides?: { [layerName: string]: Partial<MePropConfig> | false };
}

export interface MePropifyReport {
  converted: Array<{ name: string; className: string; k: number; mode: MePropMode }>;
  skipped: Array<{ name: string; className: string; reason: string }>;
}

/** tfjs class name -> ours. */
const LAYER_MAP: { [className: string]: string } = {
  Dense: 'MeProp>Dense',
  LSTM: 'MeProp>LSTM',
  GRU: 'MeProp>GRU',
  SimpleRNN: 'MeProp>SimpleRNN',
  ...CONV_LAYER_MAP,
};
const CELL_MAP: { [className: string]: string } = {
  LSTMCell: 'MeProp>LSTMCell',
  GRUCell: 'MeProp>GRUCell',
  SimpleRNNCell: 'MeProp>SimpleRNNCell',
};
const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
const WRAPPERS = new Set(['Bidirectional', 'TimeDistributed']);

interface LayerEntry {
  className: string;
  config: { [key: string]: unknown };
  name?: string;
}
interface ModelConfig {
  name?: string;
  layers: LayerEntry[];
  outputLayers?: Array<[string, number, number]>;
}

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}

function layerName(e: LayerEntry): string {
  return String(e.name ?? e.config.name);
}

/** Names of the output layers of a (nested) model config. */
function outputNames(className: string, cfg: ModelConfig): Set<string> {
  if (className === 'Sequential') return new Set(cfg.layers.length > 0 ? [layerName(cfg.layers[cfg.layers.length - 1])] : []);
  return new Set((cfg.outputLayers ?? []).map((o) => o[0]));
}

function checkOptions(options: unknown): { base: MePropConfig; outputK: MePropConfig | null; overrides: Map<string, Partial<MePropConfig> | false> } {
  if (options === null || typeof options !== 'object') throw new Error(`mePropify: options must be an object like { k: 20 }, got ${show(options)}`);
  const o = options as MePropifyOptions;
  const known = new Set(['k', 'mode', 'seed', 'outputK', 'overrides']);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new Error(`mePropify: options.${key} is not an option (expected k, mode, seed, outputK, overrides)`);
  }
  const r = validateMePropConfig({ k: o.k, mode: o.mode, seed: o.seed }, 'mePropify: options');
  const base: MePropConfig = { k: r.k, mode: r.mode, ...(r.seed !== undefined ? { seed: r.seed } : {}) };
  let outputK: MePropConfig | null = null;
  if (o.outputK !== undefined) {
    const ro = validateMePropConfig({ ...base, k: o.outputK }, 'mePropify: options.outputK (as config)');
    outputK = { ...base, k: ro.k };
  }
  const overrides = new Map<string, Partial<MePropConfig> | false>();
  if (o.overrides !== undefined) {
    if (o.overrides === null || typeof o.overrides !== 'object' || Array.isArray(o.overrides)) {
      throw new Error(`mePropify: options.overrides must be an object { [layerName]: config | false }, got ${show(o.overrides)}`);
    }
    for (const [name, v] of Object.entries(o.overrides)) {
      if (v !== false) {
        if (v === null || typeof v !== 'object') {
          throw new Error(`mePropify: options.overrides['${name}'] must be false or a partial config like { k: 10 }, got ${show(v)}`);
        }
        validateMePropConfig({ ...base, ...v }, `mePropify: options.overrides['${name}']`);
      }
      overrides.set(name, v);
    }
  }
  return { base, outputK, overrides };
}

/**
 * Returns a new model in which every Dense, LSTM, GRU and SimpleRNN layer (also inside nested models,
 * Bidirectional and TimeDistributed wrappers, and the cell of a generic tf.layers.rnn) is its meProp version with the same weights (copied: the original
 * model is untouched and shares no memory with the copy). The output layer(s) stay exact unless
 * `options.outputK` is given. The copy is not compiled: call `model.compile` on it.
 */
export function mePropify(original: LayersModel, options: MePropifyOptions): { model: LayersModel; report: MePropifyReport } {
  if (!(original instanceof LayersModel)) {
    throw new Error(`mePropify: original must be a tf.LayersModel (tf.sequential or tf.model), got ${show((original as unknown as { constructor?: { name?: string } } | null)?.constructor?.name ?? original)}`);
  }
  const { base, outputK, overrides } = checkOptions(options);
  const report: MePropifyReport = { converted: [], skipped: [] };
  const seen = new Set<string>();

  const configFor = (name: string, isOutput: boolean): { config: MePropConfig } | { reason: string } => {
    const o = overrides.get(name);
    if (o === false) return { reason: 'options.overrides: false (left exact)' };
    if (o !== undefined) return { config: { ...(isOutput && outputK !== null ? outputK : base), ...o } };
    if (isOutput) return outputK === null ? { reason: 'output layer: exact gradient (set options.outputK to convert it)' } : { config: outputK };
    return { config: base };
  };

  const rewrite = (cfg: ModelConfig, outputs: Set<string>): void => {
    for (const entry of cfg.layers) {
      const name = layerName(entry);
      seen.add(name);
      const cls = entry.className;
      if (MODEL_CLASSES.has(cls)) {
        const inner = entry.config as unknown as ModelConfig;
        rewrite(inner, outputs.has(name) ? outputNames(cls, inner) : new Set());
        report.skipped.push({ name, className: cls, reason: 'nested model: its layers are listed separately' });
        continue;
      }
      // Wrappers (Bidirectional, TimeDistributed) hold one layer config: convert that layer.
      const wrapped = WRAPPERS.has(cls) ? (entry.config.layer as LayerEntry | undefined) : undefined;
      if (wrapped !== undefined && LAYER_MAP[wrapped.className] !== undefined) {
        const choice = configFor(name, outputs.has(name));
        if ('reason' in choice) {
          report.skipped.push({ name, className: cls, reason: choice.reason });
          continue;
        }
        const entries = mePropConfigEntries(choice.config);
        const innerClass = wrapped.className;
        wrapped.className = LAYER_MAP[innerClass];
        Object.assign(wrapped.config, entries);
        report.converted.push({ name, className: `${cls}(${innerClass})`, k: entries.k, mode: entries.mode });
        continue;
      }
      const cell = entry.config.cell as LayerEntry | undefined;
      const convertible = LAYER_MAP[cls] !== undefined || (cls === 'RNN' && cell !== undefined && !Array.isArray(cell) && CELL_MAP[cell.className] !== undefined);
      if (!convertible) {
        const reason =
          cls.startsWith('MeProp>') || (wrapped !== undefined && wrapped.className.startsWith('MeProp>'))
            ? 'already a meProp layer'
            : 'no meProp version (not Dense, LSTM, GRU, SimpleRNN, Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, an RNN of their cells, or a wrapper of those)';
        report.skipped.push({ name, className: cls, reason });
        continue;
      }
      const convReason = convSkipReason(cls, entry.config);
      if (convReason !== null) {
        report.skipped.push({ name, className: cls, reason: convReason });
        continue;
      }
      const choice = configFor(name, outputs.has(name));
      if ('reason' in choice) {
        report.skipped.push({ name, className: cls, reason: choice.reason });
        continue;
      }
      const entries = mePropConfigEntries(choice.config);
      if (cls === 'RNN' && cell !== undefined) {
        cell.className = CELL_MAP[cell.className];
        Object.assign(cell.config, entries);
      } else {
        entry.className = LAYER_MAP[cls];
        Object.assign(entry.config, entries);
      }
      report.converted.push({ name, className: cls, k: entries.k, mode: entries.mode });
    }
  };

  const cfg = JSON.parse(JSON.stringify(original.getConfig())) as ModelConfig;
  const cls = original.getClassName();
  addSeparableDepthMultipliers(original as unknown as Parameters<typeof addSeparableDepthMultipliers>[0], cfg);
  rewrite(cfg, outputNames(cls, cfg));
  for (const name of overrides.keys()) {
    if (!seen.has(name)) {
      throw new Error(`mePropify: options.overrides names an unknown layer '${name}' (layers: ${[...seen].join(', ')})`);
    }
  }

  const [ctor, fromConfig] = serialization.SerializationMap.getMap().classNameMap[cls];
  // fastWeightInit: skip the initializers, the weights are overwritten below.
  const model = (fromConfig as unknown as (c: unknown, cfg: unknown, custom: object, fast: boolean) => LayersModel)(ctor, cfg, {}, true);
  const originalWeights = original.getWeights();
  if (model.weights.length !== originalWeights.length) {
    model.dispose();
    throw new Error(`mePropify: the copy of '${original.name}' has ${model.weights.length} weights, the original ${originalWeights.length}`);
  }
  // Real copies (tf.clone would share the buffer): training the copy never touches the original.
  const copies = originalWeights.map((w) => tf.tensor(w.dataSync().slice(), w.shape, w.dtype));
  model.setWeights(copies);
  tf.dispose(copies);
  return { model, report };
}
