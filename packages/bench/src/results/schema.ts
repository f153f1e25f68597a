// The JSON result document every command writes (bench-out/<command>.json) and `compare` reads.
// Bump SCHEMA_VERSION on any incompatible change; `compare` refuses documents of another version.
import type { SimpFigures } from './simp_figures';
import type { SimpLstmFigures, VaeExcludeFigures, VariantTimingFigures } from './where_figures';

export const SCHEMA_VERSION = 1;
export const TOOL_NAME = '@meprop/bench';

export type BenchCommand =
  | 'mnist'
  | 'k-sweep'
  | 'kernels'
  | 'iaf'
  | 'ci'
  | 'simp'
  | 'model'
  | 'train-step'
  | 'first-layer'
  | 'scope'
  | 'vae-exclude'
  | 'simp-lstm';
export const BENCH_COMMANDS: readonly BenchCommand[] = [
  'mnist',
  'k-sweep',
  'kernels',
  'iaf',
  'ci',
  'simp',
  'model',
  'train-step',
  'first-layer',
  'scope',
  'vae-exclude',
  'simp-lstm',
];

export type BackendName = 'cpu' | 'wasm' | 'tensorflow';
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'tensorflow'];

export type OptimizerName = 'adam' | 'adagrad';
export type MnistMethod = 'plain' | 'per-example' | 'unified' | 'random';
export type KernelMode = 'per-example' | 'unified' | 'random';
/** What a kernels row times (absent in older results: 'backward'). */
export type KernelPath = 'backward' | 'backward, dW slices' | 'forward+backward' | 'forward+backward, dW slices';
export const KERNEL_PATHS: readonly KernelPath[] = [
  'backward',
  'backward, dW slices',
  'forward+backward',
  'forward+backward, dW slices',
];
export type IafPosteriorName = 'diagonal' | 'iaf2' | 'iaf4';

export interface Environment {
  backend: BackendName;
  tfjsVersion: string;
  nodeVersion: string;
  cpuModel: string;
  cpuCount: number;
  platform: string;
  arch: string;
  /** ISO 8601, UTC. */
  date: string;
  /**
   * tensorflow only: what meProp's kernels ran on, e.g. "loaded (MePropSelect, MePropUnifiedBackward, ...)"
   * (the kernels @meprop/tfjs-node-ops made native) or "not loaded, stock TensorFlow ops (<reason>)".
   */
  nativeOps?: string;
}

export type OptionValue = number | string | boolean | null | number[] | string[];

export interface RunConfig {
  seed: number;
  epochs: number;
  batchSize: number;
  quick: boolean;
  dataSource: string;
  /** Every other option of the command, as parsed. */
  options: Record<string, OptionValue>;
}

/** Per-step medians over the timed steps, in milliseconds. */
export interface StepTiming {
  forwardMs: number;
  /** Gradient computation minus the separately timed forward pass: the backward of the linear maps dominates it. */
  backwardMs: number;
  updateMs: number;
  /** Gradients plus update (one training step). */
  stepMs: number;
  /** Wall time of the whole training loop (every step, batching included; evaluation excluded). */
  trainSeconds: number;
  steps: number;
  timedSteps: number;
}

/** Plain time / meProp time, measured in the same run; null where the plain run is absent or a time is zero. */
export interface Speedups {
  forward: number | null;
  backward: number | null;
  update: number | null;
  step: number | null;
  train: number | null;
}

export interface MnistRun {
  optimizer: OptimizerName;
  method: MnistMethod;
  /** Kept entries per hidden layer output; null for plain tfjs. */
  k: number | null;
  learningRate: number;
  /** Final test accuracy (the mean over seeds when several ran). */
  testAccuracy: number;
  /** Final test accuracy of each seed, when more than one ran. */
  seedAccuracies?: number[];
  /** Test accuracy after each epoch (the mean over seeds). */
  accuracyCurve: number[];
  /** Per-step medians (over seeds: the median of each seed's median). */
  timing: StepTiming;
  speedup: Speedups | null;
}

export interface MnistFigures {
  hidden: number[];
  /** The model set-up: 'quick' (Glorot, no dropout) or 'paper' (the paper's init, dropout 0.1). */
  protocol?: 'quick' | 'paper';
  /** How many seeds each row averages. */
  seeds?: number;
  runs: MnistRun[];
}

export interface KSweepPoint {
  selection: 'top-k' | 'random-k';
  k: number;
  /** k / hidden size. */
  keptFraction: number;
  testAccuracy: number;
}

export interface KSweepFigures {
  hidden: number;
  optimizer: OptimizerName;
  /** Plain tfjs (every gradient kept) with the same settings. */
  baselineAccuracy: number;
  points: KSweepPoint[];
}

export interface KernelCase {
  label: string;
  group: string;
  batch: number;
  inDim: number;
  outDim: number;
  k: number;
  mode: KernelMode;
  /** What is timed (absent: 'backward'). Slices rows compare with plain's dense backward (or forward+backward). */
  path?: KernelPath;
  plainMs: number;
  mePropMs: number;
  /** plainMs / mePropMs. */
  speedup: number | null;
  /** outDim / k: what a kernel doing only the kept work would reach. */
  idealSpeedup: number;
  reps: number;
}

export interface KernelFigures {
  /** How the backward alone was isolated (see experiments/kernels.ts). */
  method: string;
  cases: KernelCase[];
}

export interface IafRun {
  posterior: IafPosteriorName;
  testElbo: number;
  testIwLogLik: number;
  iwSamples: number;
  secondsPerEpoch: number;
  trainElboCurve: number[];
  testElboCurve: number[];
}

export interface IafFigures {
  runs: IafRun[];
}

/** One layer of a user's model and what mePropify did with it. */
export interface ModelLayerRow {
  name: string;
  className: string;
  converted: boolean;
  /** Kept entries per row of the layer's output gradient (converted layers), else null. */
  k: number | null;
  mode: string | null;
  /** Width of the output gradient top-k selects from (Dense: units; LSTM: 4 units; GRU: 3 units). */
  width: number | null;
  /** keptCount(k, width) / width. */
  keptFraction: number | null;
  /** Why the layer stays exact (skipped layers), else null. */
  reason: string | null;
}

/** Training-step timings of one optimizer: plain tfjs against the meProp copy, interleaved in one run. */
export interface ModelOptimizerRow {
  optimizer: string;
  learningRate: number;
  /** Median ms of model.trainOnBatch; null when the variant could not be trained (see skipped). */
  plainMs: number | null;
  /** meProp copy with tf.train's dense optimizer. */
  mePropMs: number | null;
  /** meProp copy with @meprop/layers' lazy sparse optimizer. */
  mePropSparseMs: number | null;
  /** plainMs / mePropSparseMs: the figure --min-speedup checks. */
  speedup: number | null;
  /** plainMs / mePropMs. */
  speedupDenseOptimizer: number | null;
  steps: number;
  /** Why a variant was not timed (e.g. a kernel the backend lacks), else null. */
  skipped: string | null;
}

export interface ModelFigures {
  /** The path given on the command line. */
  source: string;
  name: string;
  inputShapes: (number | null)[][];
  outputShapes: (number | null)[][];
  parameters: number;
  loss: string;
  /** 'synthetic' or the --data file. */
  data: string;
  /** Largest |plain - meProp| of the model's outputs on one batch (the forward must not change). */
  forwardMaxAbsDiff: number;
  forwardTolerance: number;
  layers: ModelLayerRow[];
  /** Kept / all entries of dy over every meProp backward of one step, counted by @meprop/core. */
  measuredKeptFraction: number | null;
  optimizers: ModelOptimizerRow[];
  minSpeedup: number | null;
  /** Every check passed: forward unchanged, meProp trains where plain tfjs does, speed-ups >= minSpeedup. */
  passed: boolean;
  failures: string[];
}

export type Better = 'higher' | 'lower';

/** One named number, with the direction in which it improves. */
export interface Metric {
  name: string;
  value: number;
  better: Better;
  unit: string;
}

export interface CiCheck {
  figure: string;
  value: number | null;
  threshold: number;
  comparison: 'min' | 'max';
  pass: boolean;
}

export interface CiFigures {
  thresholdsFile: string;
  figures: Metric[];
  checks: CiCheck[];
  passed: boolean;
}

export interface BenchResult {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: typeof TOOL_NAME;
  command: BenchCommand;
  config: RunConfig;
  environment: Environment;
  mnist?: MnistFigures;
  kSweep?: KSweepFigures;
  kernels?: KernelFigures;
  iaf?: IafFigures;
  ci?: CiFigures;
  simp?: SimpFigures;
  model?: ModelFigures;
  /** `first-layer` and `scope`. */
  variantTimings?: VariantTimingFigures;
  vaeExclude?: VaeExcludeFigures;
  simpLstm?: SimpLstmFigures;
}
