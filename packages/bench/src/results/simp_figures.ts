// The figures of `meprop-bench simp` (meSimp: training in cycles that shrink the hidden layers), and the
// metrics `compare` reads from them.
import type { BenchResult, Metric } from './schema';

export interface SimpCycle {
  cycle: number;
  /** Epochs trained so far (all cycles up to this one). */
  epochs: number;
  /** Whether this cycle simplified (otherwise it trained the size it started with). */
  simplified?: boolean;
  /** Hidden units per layer after this cycle's simplification. */
  units: number[];
  /** Hidden units per layer after each part of the cycle (one part: the cycle's end). */
  partUnits?: number[][];
  /** Test accuracy of the (simplified) model after this cycle, as a fraction. */
  testAccuracy: number;
  /** Test accuracy of the plain 500-wide model after the same epochs. */
  plainAccuracy: number;
}

export interface SimpSeedRun {
  seed: number;
  cycles: SimpCycle[];
  /** Final hidden units per layer of the simplified model. */
  units: number[];
  /** Final test accuracies: meSimp, plain full width, plain trained from scratch at the reduced width. */
  simplifiedAccuracy: number;
  plainAccuracy: number;
  reducedAccuracy: number;
  /** With --distilled-baseline: the reduced widths from scratch, distilled from the trained plain full-width model. */
  distilledAccuracy?: number;
}

export interface SimpInference {
  /** The backend predict() ran on. */
  backend: string;
  batch: number;
  originalMs: number;
  simplifiedMs: number;
  /** originalMs / simplifiedMs, measured interleaved in one run. */
  speedup: number | null;
}

export interface SimpFigures {
  hidden: number;
  k: number;
  mode: string;
  threshold: number;
  minUnits: number;
  cycles: number;
  epochsPerCycle: number;
  /** Epochs of the last cycle (fine-tuning the final size). */
  lastCycleEpochs: number;
  /** Simplifications per epoch in a simplifying cycle; null: one at the end of the cycle. */
  simplifyPerEpoch?: number | null;
  /** Only the 1st, 3rd, ... cycles simplified (the paper's code); otherwise every cycle but the last. */
  alternate?: boolean;
  /** Each cycle started with a fresh optimizer state. */
  resetOptimizer?: boolean;
  /** Initial weights: 'meprop' (U(±1/sqrt(fan_out))) or 'mesimp' (N(0, sqrt(6 / (fan_in + fan_out))), zero biases). */
  init?: string;
  /** Each gradient entry clipped to ±clip before Adam's update; null: no clipping. */
  clip?: number | null;
  /** Cap on each hidden layer's units at the end of the simplifying cycles (reached gradually); null: none. */
  maxUnits?: number | null;
  /** First cycle (0-based) whose simplifications the cap applied to; null: no cap. */
  maxUnitsFromCycle?: number | null;
  /** Adam's learning rate in the last cycle, in all three arms; null: the same as before. */
  lastCycleLr?: number | null;
  /** Learning rate the last cycle's cosine decay ends at, in all three arms; null: no decay. */
  finalLr?: number | null;
  /** Self-distillation in the meSimp arm (the model before a cut teaches); null: none. */
  distill?: { weight: number; temperature: number; teacher: string } | null;
  runs: SimpSeedRun[];
  /** Means over the seeds. */
  mean: {
    units: number[];
    simplifiedAccuracy: number;
    plainAccuracy: number;
    reducedAccuracy: number;
    distilledAccuracy?: number;
  };
  /** predict() time of the first seed's plain full-width model against its simplified model, per backend. */
  inference: SimpInference[];
}

export function simpMetrics(r: BenchResult): Metric[] {
  const s = r.simp;
  if (!s) return [];
  const out: Metric[] = [
    { name: 'simp.simplified.testAccuracy', value: s.mean.simplifiedAccuracy, better: 'higher', unit: 'fraction' },
    { name: 'simp.plain.testAccuracy', value: s.mean.plainAccuracy, better: 'higher', unit: 'fraction' },
    { name: 'simp.reduced.testAccuracy', value: s.mean.reducedAccuracy, better: 'higher', unit: 'fraction' },
    ...s.mean.units.map((u, i): Metric => ({ name: `simp.hidden${i + 1}.units`, value: u, better: 'lower', unit: 'units' })),
  ];
  for (const i of s.inference) {
    if (i.speedup !== null)
      out.push({ name: `simp.inference.${i.backend}.batch${i.batch}.speedup`, value: i.speedup, better: 'higher', unit: 'x' });
  }
  return out.filter((m) => Number.isFinite(m.value));
}
