// What a check inside the page reports back to the Node test: plain data, so it crosses page.evaluate.
export interface CheckResult {
  /** e.g. 'unified k=5 tA=false tB=true: da' */
  name: string;
  /** Max |got - want| / max(1, |want|) over all entries; NaN if any entry is NaN or shapes differ. */
  maxRelDiff: number;
  tol: number;
}

export interface LeakResult {
  name: string;
  tensorsBefore: number;
  tensorsAfter: number;
}

export interface GradientReport {
  backend: string;
  checks: CheckResult[];
  leaks: LeakResult[];
  /** Facts about the random mode: kept columns of each one-row step, for the Node side to inspect. */
  randomKeptCounts: number[];
}

export interface ConvReport {
  backend: string;
  checks: CheckResult[];
  leaks: LeakResult[];
}

export interface FitReport {
  backend: string;
  losses: number[];
  /** numTensors after the 1st and after the last of several `fit` calls (equal when nothing leaks). */
  tensorsAfterFirstFit: number;
  tensorsAfterLastFit: number;
  converted: string[];
}

export interface OptimizerReport {
  backend: string;
  /** Whether the backend has the sparse lazy update kernel (then minimize keeps meProp's gradients sparse). */
  sparseKernel: boolean;
  /** Every weight after three steps on the backend against the same steps on cpu. */
  checks: CheckResult[];
  /** Tensors gained over steps 2 and 3, per optimizer (0: nothing leaks). */
  tensorsGrown: Record<string, number>;
}

/** What the checks page puts on `window.mepropChecks`. */
export interface ChecksApi {
  runGradientChecks(backend: string): Promise<GradientReport>;
  runConvChecks(backend: string): Promise<ConvReport>;
  runFitCheck(backend: string): Promise<FitReport>;
  runOptimizerCheck(backend: string): Promise<OptimizerReport>;
  backendInfo(): Promise<Record<string, string>>;
}
