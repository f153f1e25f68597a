// The figures of `meprop-bench simp` (meSimp: training in cycles that shrink the hidden layers).

export interface SimpCycle {
  cycle: number;
  /** Epochs trained so far (all cycles up to this one). */
  epochs: number;
  /** Hidden units per layer after this cycle's simplification. */
  units: number[];
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
}

export interface SimpInference {
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
  runs: SimpSeedRun[];
  /** Means over the seeds. */
  mean: { units: number[]; simplifiedAccuracy: number; plainAccuracy: number; reducedAccuracy: number };
  /** predict() time of seed 1's plain full-width model against its simplified model, on this run's backend. */
  inference: SimpInference[];
}
