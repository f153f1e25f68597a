// Training batches for `meprop-bench model`: synthetic ones shaped like the model's inputs and outputs, or the
// user's own examples from a JSON-lines file (--data). Either way the same batches feed plain tfjs and meProp.
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../util/rng';

/** Losses the model command can build targets for. */
export const MODEL_LOSSES = ['categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError'] as const;
export type ModelLoss = (typeof MODEL_LOSSES)[number];

export interface TensorSpec {
  /** Shape without the batch dimension. */
  shape: number[];
  /** Inputs fed to an Embedding: integer ids in [0, intBound). Otherwise null. */
  intBound: number | null;
}

export interface ModelIo {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** One loss per output. */
  losses: ModelLoss[];
}

export interface ModelBatch {
  xs: tf.Tensor[];
  ys: tf.Tensor[];
}

function fixedShape(shape: (number | null)[], what: string): number[] {
  const rest = shape.slice(1);
  if (rest.some((d) => d === null || d < 1)) {
    throw new Error(
      `model: ${what} has shape [${shape.map(String).join(', ')}]: every dimension but the batch must be fixed to make synthetic data ` +
        '(give the model an inputShape / inputLength, or pass --data with your examples)',
    );
  }
  return rest as number[];
}

function activationOf(layer: tf.layers.Layer): string | null {
  const cfg = layer.getConfig() as { activation?: unknown; layer?: { config?: { activation?: unknown } } };
  const act = cfg.activation ?? cfg.layer?.config?.activation;
  return typeof act === 'string' ? act : null;
}

/** The loss a model is trained with: its compiled loss, else from its output activation (softmax, sigmoid, other). */
export function inferLosses(model: tf.LayersModel, override?: ModelLoss): ModelLoss[] {
  return model.outputs.map((out, i) => {
    if (override) return override;
    const compiled = (model as unknown as { loss?: unknown }).loss;
    const named = Array.isArray(compiled) ? compiled[i] : compiled;
    if (typeof named === 'string') {
      if ((MODEL_LOSSES as readonly string[]).includes(named)) return named as ModelLoss;
      throw new Error(
        `model: the model was compiled with loss '${named}'; pass --loss ${MODEL_LOSSES.join('|')} to choose one the benchmark can build targets for`,
      );
    }
    const act = activationOf(out.sourceLayer as tf.layers.Layer);
    return act === 'softmax' ? 'categoricalCrossentropy' : act === 'sigmoid' ? 'binaryCrossentropy' : 'meanSquaredError';
  });
}

/** Input and output shapes (batch dimension dropped), Embedding id ranges, and the losses. */
export function describeModelIo(model: tf.LayersModel, loss?: ModelLoss): ModelIo {
  const inputs = model.inputs.map((input, i) => {
    const consumers = model.layers.filter((l) => l.inboundNodes.some((n) => n.inputTensors.includes(input)));
    const embedding = consumers.find((l) => l.getClassName() === 'Embedding');
    const bound = embedding ? Number((embedding.getConfig() as { inputDim?: unknown }).inputDim) : null;
    return {
      shape: fixedShape(input.shape, `input ${i} ('${input.name}')`),
      intBound: bound !== null && Number.isFinite(bound) ? bound : null,
    };
  });
  const outputs = model.outputs.map((o, i) => ({ shape: fixedShape(o.shape, `output ${i} ('${o.name}')`), intBound: null }));
  return { inputs, outputs, losses: inferLosses(model, loss) };
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Standard normal from two uniforms (Box-Muller). */
function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function target(spec: TensorSpec, loss: ModelLoss, batch: number, rng: Rng): tf.Tensor {
  const n = batch * size(spec.shape);
  const v = new Float32Array(n);
  if (loss === 'categoricalCrossentropy') {
    const classes = spec.shape[spec.shape.length - 1];
    for (let row = 0; row < n / classes; row++) v[row * classes + Math.floor(rng() * classes)] = 1;
  } else if (loss === 'binaryCrossentropy') {
    for (let i = 0; i < n; i++) v[i] = rng() < 0.5 ? 0 : 1;
  } else {
    for (let i = 0; i < n; i++) v[i] = normal(rng);
  }
  return tf.tensor(v, [batch, ...spec.shape]);
}

/** `count` batches of random inputs (uniform [0, 1), or integer ids for Embeddings) and targets fitting the loss. */
export function syntheticBatches(io: ModelIo, batchSize: number, count: number, seed: number): ModelBatch[] {
  const rng = makeRng(seed);
  return Array.from({ length: count }, () => ({
    xs: io.inputs.map((spec) => {
      const v = new Float32Array(batchSize * size(spec.shape));
      for (let i = 0; i < v.length; i++) v[i] = spec.intBound === null ? rng() : Math.floor(rng() * spec.intBound);
      return tf.tensor(v, [batchSize, ...spec.shape]);
    }),
    ys: io.outputs.map((spec, i) => target(spec, io.losses[i], batchSize, rng)),
  }));
}

function flatten(value: unknown, shape: number[], where: string): number[] {
  const out: number[] = [];
  const walk = (v: unknown, depth: number, at: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`${at}: expected a finite number, got ${JSON.stringify(v)}`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(
        `${at}: expected an array of ${shape[depth]} (shape [${shape.join(', ')}]), got ${Array.isArray(v) ? `${v.length} entries` : JSON.stringify(v)}`,
      );
    }
    v.forEach((x, i) => walk(x, depth + 1, `${at}[${i}]`));
  };
  walk(value, 0, where);
  return out;
}

/**
 * Batches from a JSON-lines file: one example per line, `{"x": <input>, "y": <target>}`, nested arrays shaped like
 * one example of the model's input and output (no batch dimension). For a softmax output of C classes, `y` may be
 * the class index instead of a one-hot array. Single-input, single-output models only. The last partial batch is
 * dropped; `maxBatches` caps how many are read.
 */
export function readJsonlBatches(file: string, io: ModelIo, batchSize: number, maxBatches: number): ModelBatch[] {
  if (io.inputs.length !== 1 || io.outputs.length !== 1) {
    throw new Error(
      `--data ${file}: only models with one input and one output can read --data (this one has ${io.inputs.length} and ${io.outputs.length})`,
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--data ${file}: cannot read it: ${(e as Error).message}`);
  }
  const [inSpec] = io.inputs;
  const [outSpec] = io.outputs;
  const xs: number[][] = [];
  const ys: number[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && xs.length < batchSize * maxBatches; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `--data ${file}, line ${i + 1}`;
    let row: { x?: unknown; y?: unknown };
    try {
      row = JSON.parse(line) as { x?: unknown; y?: unknown };
    } catch (e) {
      throw new Error(`${where}: not valid JSON: ${(e as Error).message}`);
    }
    if (row === null || typeof row !== 'object' || !('x' in row) || !('y' in row))
      throw new Error(`${where}: expected an object {"x": ..., "y": ...}`);
    xs.push(flatten(row.x, inSpec.shape, `${where}: x`));
    const classes = outSpec.shape[outSpec.shape.length - 1];
    if (typeof row.y === 'number' && io.losses[0] === 'categoricalCrossentropy' && outSpec.shape.length === 1) {
      if (!Number.isInteger(row.y) || row.y < 0 || row.y >= classes)
        throw new Error(`${where}: y: class index ${row.y} is not an integer in [0, ${classes})`);
      const oneHot = new Array<number>(classes).fill(0);
      oneHot[row.y] = 1;
      ys.push(oneHot);
    } else {
      ys.push(
        flatten(
          typeof row.y === 'number' && outSpec.shape.length === 1 && outSpec.shape[0] === 1 ? [row.y] : row.y,
          outSpec.shape,
          `${where}: y`,
        ),
      );
    }
  }
  const batches = Math.floor(xs.length / batchSize);
  if (batches === 0)
    throw new Error(`--data ${file}: ${xs.length} example(s), fewer than one batch of ${batchSize} (lower --batch-size)`);
  return Array.from({ length: batches }, (_, b) => ({
    xs: [tf.tensor(xs.slice(b * batchSize, (b + 1) * batchSize).flat(), [batchSize, ...inSpec.shape])],
    ys: [tf.tensor(ys.slice(b * batchSize, (b + 1) * batchSize).flat(), [batchSize, ...outSpec.shape])],
  }));
}
