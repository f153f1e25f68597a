// Figures of the commands that came from the packages' own scripts: `first-layer` and `scope` (variants of one
// computation timed against the first), `vae-exclude` (withMeProp on a VAE, with and without excluding the
// decoder's output layer) and `simp-lstm` (meSimp on an LSTM text classifier).
import type { BenchResult, Metric } from './schema';

/** One variant of a case, timed in interleaved rounds with the case's other variants. */
export interface VariantTimingRow {
  /** Short id of the case, e.g. "128x10000x16.k3" or "sentiment" (metric names use it). */
  case: string;
  /** What the case computes, e.g. "sentiment MLP 10000-16-16-1, batch 128, k 3". */
  description: string;
  variant: string;
  /** Medians of wall-clock and process CPU milliseconds per call. */
  wallMs: number;
  cpuMs: number;
  /** The case's first variant (the baseline) / this one; null for the baseline. */
  wallSpeedup: number | null;
  cpuSpeedup: number | null;
  reps: number;
  /** Largest |difference| between this variant's result and the reference variant's (first-layer: dW), if checked. */
  maxAbsDiff?: number | null;
}

export interface VariantTimingFigures {
  /** What one timed call does. */
  what: string;
  /** The variant maxAbsDiff is measured against, when the command checks the variants' results. */
  reference?: string;
  rows: VariantTimingRow[];
}

export interface VaeExcludeRow {
  /** plain, all (withMeProp on every layer) or excl (the decoder's output layer excluded). */
  variant: string;
  description: string;
  /** Mean negative ELBO of the test digits after training (nats; lower is better). */
  testLoss: number;
  /** The same after each epoch. */
  testLossCurve: number[];
  trainSeconds: number;
  /** Median process CPU milliseconds of one training step. */
  stepCpuMs: number;
  /** Plain tfjs's stepCpuMs / this one's; null for plain or when plain did not run. */
  stepCpuSpeedup: number | null;
}

export interface VaeExcludeFigures {
  hidden: number;
  latent: number;
  k: number;
  mode: string;
  rows: VaeExcludeRow[];
}

export interface SimpLstmRun {
  seed: number;
  plainUnits: number;
  plainAccuracy: number;
  /** Units of the LSTM after each meSimp cycle, and the test accuracy then. */
  cycleUnits: number[];
  cycleAccuracies: number[];
  simplifiedUnits: number;
  simplifiedAccuracy: number;
  /** A plain LSTM of the reduced size trained from scratch for as many epochs. */
  reducedAccuracy: number;
}

export interface SimpLstmFigures {
  task: string;
  k: number;
  threshold: number;
  cycles: number;
  epochsPerCycle: number;
  runs: SimpLstmRun[];
}

function push(out: Metric[], name: string, value: number | null, better: Metric['better'], unit: string): void {
  if (value !== null && Number.isFinite(value)) out.push({ name, value, better, unit });
}

/** The metrics `compare` checks for these commands (ratios, losses, accuracies; times are shown, not gated). */
export function whereMetrics(result: BenchResult): Metric[] {
  const out: Metric[] = [];
  for (const r of result.variantTimings?.rows ?? []) {
    const id = `${result.command}.${r.case}.${r.variant}`;
    push(out, `${id}.wallMs`, r.wallMs, 'lower', 'ms');
    push(out, `${id}.cpuMs`, r.cpuMs, 'lower', 'ms');
    push(out, `${id}.speedup`, r.wallSpeedup, 'higher', 'x');
    push(out, `${id}.cpuSpeedup`, r.cpuSpeedup, 'higher', 'x');
  }
  for (const r of result.vaeExclude?.rows ?? []) {
    push(out, `vae-exclude.${r.variant}.testLoss`, r.testLoss, 'lower', 'nats');
    push(out, `vae-exclude.${r.variant}.stepCpuMs`, r.stepCpuMs, 'lower', 'ms');
    push(out, `vae-exclude.${r.variant}.stepCpuSpeedup`, r.stepCpuSpeedup, 'higher', 'x');
  }
  for (const r of result.simpLstm?.runs ?? []) {
    const id = `simp-lstm.seed${r.seed}`;
    push(out, `${id}.plainAccuracy`, r.plainAccuracy, 'higher', 'fraction');
    push(out, `${id}.simplifiedAccuracy`, r.simplifiedAccuracy, 'higher', 'fraction');
    push(out, `${id}.reducedAccuracy`, r.reducedAccuracy, 'higher', 'fraction');
  }
  return out;
}
