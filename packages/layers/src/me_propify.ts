// mePropify: a copy of a tf.LayersModel whose Dense/LSTM/GRU/SimpleRNN layers are their meProp versions.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { LayersModel } from '@tensorflow/tfjs-layers';
import { keptCount, MePropConfig, MePropMode, validateMePropConfig } from '@meprop/core';
import { mePropConfigEntries } from './me_prop_args';
import { modelFromConfigFast } from './tfjs_internals';
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
  /**
   * Throw instead of warning when the model has nothing to convert (no Dense, LSTM, GRU or SimpleRNN layer
   * outside the output layers). Default false: a single console.warn.
   */
  strict?: boolean;
}

/** One converted layer: its config, and what applies to its matmuls. */
export interface MePropifyConvertedLayer {
  name: string;
  className: string;
  /** k as configured (saved with the layer): a count, or a fraction of the width. */
  k: number;
  mode: MePropMode;
  /** Output width of the layer's widest matmul: units (Dense, SimpleRNN), 4·units (LSTM), 3·units (GRU). */
  width: number;
  /** Entries of the output gradient actually kept per row of that matmul: k resolved against the width. */
  kept: number;
  /** kept >= width: meProp keeps everything, so this layer's gradient is exact (and gains nothing). */
  exact: boolean;
  /** Set when something about this layer deserves a word (e.g. k >= width). */
  note?: string;
}

export interface MePropifyReport {
  converted: MePropifyConvertedLayer[];
  /** Every other layer once, with the reason it was left as it is. */
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
/** How many gate blocks wide each recurrent product is, in units. */
const GATES: { [className: string]: number } = { LSTM: 4, LSTMCell: 4, GRU: 3, GRUCell: 3 };
/**
 * tfjs layers without weights that pass one tensor on, reshaped, masked, pooled or through an activation: a
 * layer that reaches a model output only through these is an output layer (it produces the logits).
 * Merge layers (Add, Concatenate, ...) are not in the list: they combine branches.
 */
const PARAMETER_FREE = new Set([
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Reshape',
  'Flatten',
  'Permute',
  'RepeatVector',
  'Masking',
  'Cropping2D',
  'ZeroPadding2D',
  'UpSampling2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'AveragePooling1D',
  'AveragePooling2D',
  'AveragePooling3D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
]);

interface LayerEntry {
  className: string;
  config: { [key: string]: unknown };
  name?: string;
  /** Functional models: per call of the layer, the [layerName, nodeIndex, tensorIndex, kwargs] it reads. */
  inboundNodes?: Array<Array<[string, number, number, unknown]>>;
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

function parameterFree(e: LayerEntry): boolean {
  if (PARAMETER_FREE.has(e.className)) return true;
  const wrapped = e.className === 'TimeDistributed' ? (e.config.layer as LayerEntry | undefined) : undefined;
  return wrapped !== undefined && parameterFree(wrapped);
}

/**
 * Names of the layers of a (nested) model config that act as its output layers: the layers that produce a
 * model output, directly or through parameter-free layers only (Dense(n) -> Activation('softmax'),
 * TimeDistributed(Dense) -> Activation, Dense -> Reshape, ...). The parameter-free layers passed are in
 * the set too (they have nothing to convert).
 */
function outputLayerNames(className: string, cfg: ModelConfig): Set<string> {
  const out = new Set<string>();
  if (className === 'Sequential') {
    for (let i = cfg.layers.length - 1; i >= 0; i--) {
      out.add(layerName(cfg.layers[i]));
      if (!parameterFree(cfg.layers[i])) break;
    }
    return out;
  }
  const byName = new Map(cfg.layers.map((e) => [layerName(e), e] as const));
  const stack = (cfg.outputLayers ?? []).map((o) => o[0]);
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (out.has(name)) continue;
    out.add(name);
    const entry = byName.get(name);
    if (entry === undefined || !parameterFree(entry)) continue;
    for (const node of entry.inboundNodes ?? []) for (const inbound of node) stack.push(inbound[0]);
  }
  return out;
}

/**
 * The output channels of every layer of `model` and of its nested models, by layer name (the last axis of the
 * layer's output shape): the width of a convolution whose config has no `filters` (DepthwiseConv2D).
 */
function outputChannels(model: LayersModel, into = new Map<string, number>()): Map<string, number> {
  for (const layer of model.layers) {
    if (layer instanceof LayersModel) outputChannels(layer, into);
    let shape: unknown;
    try {
      shape = layer.outputShape;
    } catch {
      continue; // a layer applied to inputs of different shapes has no single output shape
    }
    const last = Array.isArray(shape) && typeof shape[shape.length - 1] === 'number' ? (shape[shape.length - 1] as number) : null;
    if (last !== null && !into.has(layer.name)) into.set(layer.name, last);
  }
  return into;
}

/**
 * The widest matmul output of a convertible layer entry (see MePropifyConvertedLayer.width): `units` (times
 * the gate count of a recurrent layer), `filters` for a convolution, or the output channels (DepthwiseConv2D:
 * input channels × depthMultiplier) from the original model.
 */
function productWidth(entry: LayerEntry, channels: Map<string, number>): number {
  const inner = WRAPPERS.has(entry.className) ? (entry.config.layer as LayerEntry) : entry;
  const cell = inner.config.cell as LayerEntry | undefined;
  const source = inner.className === 'RNN' && cell !== undefined ? cell : inner;
  const declared = source.config.units ?? source.config.filters;
  const width =
    declared !== undefined && declared !== null
      ? Number(declared) * (GATES[source.className] ?? 1)
      : (channels.get(layerName(entry)) ?? Number.NaN);
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(
      `mePropify: cannot tell the output width of layer '${layerName(entry)}' (${entry.className}): no units or filters in its config`,
    );
  }
  return width;
}

function checkOptions(options: unknown): {
  base: MePropConfig;
  outputK: MePropConfig | null;
  overrides: Map<string, Partial<MePropConfig> | false>;
  strict: boolean;
} {
  if (options === null || typeof options !== 'object')
    throw new Error(`mePropify: options must be an object like { k: 20 }, got ${show(options)}`);
  const o = options as MePropifyOptions;
  const known = new Set(['k', 'mode', 'seed', 'outputK', 'overrides', 'strict']);
  for (const key of Object.keys(o)) {
    if (!known.has(key))
      throw new Error(`mePropify: options.${key} is not an option (expected k, mode, seed, outputK, overrides, strict)`);
  }
  const r = validateMePropConfig({ k: o.k, mode: o.mode, seed: o.seed }, 'mePropify: options');
  const base: MePropConfig = { k: r.k, mode: r.mode, ...(r.seed !== undefined ? { seed: r.seed } : {}) };
  let outputK: MePropConfig | null = null;
  if (o.outputK !== undefined) {
    const ro = validateMePropConfig({ ...base, k: o.outputK }, 'mePropify: options.outputK (as config)');
    outputK = { ...base, k: ro.k };
  }
  if (o.strict !== undefined && typeof o.strict !== 'boolean') {
    throw new Error(`mePropify: options.strict must be a boolean, got ${show(o.strict)}`);
  }
  const overrides = new Map<string, Partial<MePropConfig> | false>();
  if (o.overrides !== undefined) {
    if (o.overrides === null || typeof o.overrides !== 'object' || Array.isArray(o.overrides)) {
      throw new Error(`mePropify: options.overrides must be an object { [layerName]: config | false }, got ${show(o.overrides)}`);
    }
    for (const [name, v] of Object.entries(o.overrides)) {
      if (v !== false) {
        if (v === null || typeof v !== 'object') {
          throw new Error(
            `mePropify: options.overrides['${name}'] must be false or a partial config like { k: 10 }, got ${show(v)}`,
          );
        }
        validateMePropConfig({ ...base, ...v }, `mePropify: options.overrides['${name}']`);
      }
      overrides.set(name, v);
    }
  }
  return { base, outputK, overrides, strict: o.strict === true };
}

/** The registered class name of every layer config in `cfg`, with the name of the layer that uses it. */
function classUses(
  cfg: ModelConfig,
  out: Array<{ className: string; layer: string }> = [],
): Array<{ className: string; layer: string }> {
  for (const entry of cfg.layers) {
    const layer = layerName(entry);
    out.push({ className: entry.className, layer });
    if (MODEL_CLASSES.has(entry.className)) classUses(entry.config as unknown as ModelConfig, out);
    const wrapped = entry.config.layer as LayerEntry | undefined;
    if (WRAPPERS.has(entry.className) && wrapped !== undefined) out.push({ className: wrapped.className, layer });
    const cell = entry.config.cell as LayerEntry | LayerEntry[] | undefined;
    for (const c of Array.isArray(cell) ? cell : cell !== undefined ? [cell] : []) out.push({ className: c.className, layer });
  }
  return out;
}

/** Throws a clear Error for a layer class that tfjs cannot re-create from its config (a custom layer not registered). */
function checkRegistered(cfg: ModelConfig): void {
  const known = serialization.SerializationMap.getMap().classNameMap;
  for (const { className, layer } of classUses(cfg)) {
    if (known[className] === undefined) throw unregisteredError(className, layer);
  }
}

function unregisteredError(className: string, layer: string | undefined): Error {
  return new Error(
    `mePropify: layer ${layer === undefined ? '' : `'${layer}' `}has class '${className}', which is not registered with tfjs's ` +
      `serialization, so the model cannot be copied. Custom layers must be registered with ` +
      `tf.serialization.registerClass(${className}) (with a static className) before converting.`,
  );
}

/** The model's config; a model tfjs cannot describe yet (an empty or unbuilt Sequential) gets an Error saying what to do. */
function modelConfig(original: LayersModel): serialization.ConfigDict {
  const notBuilt = (detail: string): Error =>
    new Error(
      `mePropify: model '${original.name}' must be built before converting (${detail}): add its layers, the first with an ` +
        'inputShape (e.g. tf.layers.dense({ units: 16, inputShape: [784] })), then convert it',
    );
  if (original.layers.length === 0) throw notBuilt('it has no layers');
  try {
    return original.getConfig();
  } catch (e) {
    throw notBuilt(`tfjs cannot read its config: ${(e as Error).message}`);
  }
}

/**
 * Returns a new model in which every Dense, LSTM, GRU and SimpleRNN layer (also inside nested models,
 * Bidirectional and TimeDistributed wrappers, and the cell of a generic tf.layers.rnn) is its meProp version
 * with the same weights (copied: the original model is untouched and shares no memory with the copy). The
 * output layers stay exact unless `options.outputK` is given: every layer that produces a model output,
 * directly or through parameter-free layers only (Activation, Dropout, Reshape, Flatten, ...). The copy is
 * not compiled: call `model.compile` on it. A model with nothing to convert gets a console.warn (an Error
 * with `strict: true`).
 */
export function mePropify(original: LayersModel, options: MePropifyOptions): { model: LayersModel; report: MePropifyReport } {
  if (!(original instanceof LayersModel)) {
    throw new Error(
      `mePropify: original must be a tf.LayersModel (tf.sequential or tf.model), got ${show((original as unknown as { constructor?: { name?: string } } | null)?.constructor?.name ?? original)}`,
    );
  }
  const { base, outputK, overrides, strict } = checkOptions(options);
  const channels = outputChannels(original);
  const report: MePropifyReport = { converted: [], skipped: [] };
  const seen = new Set<string>();
  const skip = (name: string, className: string, reason: string): void => {
    // A nested model's input layer also appears in the outer model when the outer one was built on it.
    if (!report.skipped.some((s) => s.name === name && s.className === className))
      report.skipped.push({ name, className, reason });
  };
  const convert = (name: string, className: string, entry: LayerEntry, entries: { k: number; mode: MePropMode }): void => {
    const width = productWidth(entry, channels);
    const kept = keptCount(entries.k, width);
    const exact = kept >= width;
    const layer: MePropifyConvertedLayer = { name, className, k: entries.k, mode: entries.mode, width, kept, exact };
    if (exact) layer.note = `k=${entries.k} keeps all ${width} entries of the output gradient: this layer's gradient is exact`;
    report.converted.push(layer);
  };

  const configFor = (name: string, isOutput: boolean): { config: MePropConfig } | { reason: string } => {
    const o = overrides.get(name);
    if (o === false) return { reason: 'options.overrides: false (left exact)' };
    if (o !== undefined) return { config: { ...(isOutput && outputK !== null ? outputK : base), ...o } };
    if (isOutput) {
      return outputK === null
        ? {
            reason:
              'output layer (produces a model output, directly or through parameter-free layers): exact gradient (set options.outputK to convert it)',
          }
        : { config: outputK };
    }
    return { config: base };
  };

  const rewrite = (cfg: ModelConfig, outputs: Set<string>): void => {
    for (const entry of cfg.layers) {
      const name = layerName(entry);
      seen.add(name);
      const cls = entry.className;
      if (MODEL_CLASSES.has(cls)) {
        const inner = entry.config as unknown as ModelConfig;
        rewrite(inner, outputs.has(name) ? outputLayerNames(cls, inner) : new Set());
        skip(name, cls, 'nested model: its layers are listed separately');
        continue;
      }
      // Wrappers (Bidirectional, TimeDistributed) hold one layer config: convert that layer.
      const wrapped = WRAPPERS.has(cls) ? (entry.config.layer as LayerEntry | undefined) : undefined;
      if (wrapped !== undefined && LAYER_MAP[wrapped.className] !== undefined) {
        const choice = configFor(name, outputs.has(name));
        if ('reason' in choice) {
          skip(name, cls, choice.reason);
          continue;
        }
        const entries = mePropConfigEntries(choice.config);
        const innerClass = wrapped.className;
        convert(name, `${cls}(${innerClass})`, entry, entries);
        wrapped.className = LAYER_MAP[innerClass];
        Object.assign(wrapped.config, entries);
        continue;
      }
      const cell = entry.config.cell as LayerEntry | undefined;
      const convertible =
        LAYER_MAP[cls] !== undefined ||
        (cls === 'RNN' && cell !== undefined && !Array.isArray(cell) && CELL_MAP[cell.className] !== undefined);
      if (!convertible) {
        const reason =
          cls === 'InputLayer'
            ? 'input layer'
            : cls.startsWith('MeProp>') || (wrapped !== undefined && wrapped.className.startsWith('MeProp>'))
              ? 'already a meProp layer'
              : 'no meProp version (not Dense, LSTM, GRU, SimpleRNN, Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, an RNN of their cells, or a wrapper of those)';
        skip(name, cls, reason);
        continue;
      }
      const convReason = convSkipReason(cls, entry.config);
      if (convReason !== null) {
        report.skipped.push({ name, className: cls, reason: convReason });
        continue;
      }
      const choice = configFor(name, outputs.has(name));
      if ('reason' in choice) {
        skip(name, cls, choice.reason);
        continue;
      }
      const entries = mePropConfigEntries(choice.config);
      convert(name, cls, entry, entries);
      if (cls === 'RNN' && cell !== undefined) {
        cell.className = CELL_MAP[cell.className];
        Object.assign(cell.config, entries);
      } else {
        entry.className = LAYER_MAP[cls];
        Object.assign(entry.config, entries);
      }
    }
  };

  const cfg = JSON.parse(JSON.stringify(modelConfig(original))) as ModelConfig;
  checkRegistered(cfg);
  const cls = original.getClassName();
  addSeparableDepthMultipliers(original as unknown as Parameters<typeof addSeparableDepthMultipliers>[0], cfg);
  rewrite(cfg, outputLayerNames(cls, cfg));
  for (const name of overrides.keys()) {
    if (!seen.has(name)) {
      throw new Error(`mePropify: options.overrides names an unknown layer '${name}' (layers: ${[...seen].join(', ')})`);
    }
  }
  if (report.converted.length === 0) {
    const message =
      `mePropify: nothing to convert in model '${original.name}': no Dense, LSTM, GRU or SimpleRNN layer outside its output ` +
      `layers (skipped: ${report.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}). The copy trains exactly like the original.`;
    if (strict) throw new Error(`${message} (options.strict)`);
    console.warn(message);
  }

  let model: LayersModel;
  try {
    // fastWeightInit: skip the initializers, the weights are overwritten below.
    model = modelFromConfigFast(cls, cfg);
  } catch (e) {
    // A class the check above did not see (e.g. inside a custom layer's own config).
    const unknown = /Unknown layer: ([^\s.]+)/.exec((e as Error).message);
    if (unknown !== null) throw unregisteredError(unknown[1], undefined);
    throw e;
  }
  const originalWeights = original.getWeights();
  if (model.weights.length !== originalWeights.length) {
    model.dispose();
    throw new Error(
      `mePropify: the copy of '${original.name}' has ${model.weights.length} weights, the original ${originalWeights.length}`,
    );
  }
  // Real copies (tf.clone would share the buffer): training the copy never touches the original.
  const copies = originalWeights.map((w) => tf.tensor(w.dataSync().slice(), w.shape, w.dtype));
  model.setWeights(copies);
  tf.dispose(copies);
  return { model, report };
}
