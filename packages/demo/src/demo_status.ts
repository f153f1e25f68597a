// What the page publishes on `window.mepropDemo` for scripts and the browser tests: the state of each view.
export interface MnistStatus {
  state: 'idle' | 'loading' | 'training' | 'done' | 'error';
  backend: string;
  k: number;
  mode: string;
  epochsDone: number;
  steps: number;
  /** Test accuracy of the last evaluation (fraction), plain and meProp. */
  plainAccuracy: number;
  mePropAccuracy: number;
  /** Median ms per training step (after warm-up), plain and meProp, measured interleaved. */
  plainMsPerStep: number;
  mePropMsPerStep: number;
  /** Points drawn on the loss chart so far. */
  chartPoints: number;
  error?: string;
}

export interface DensityStatus {
  state: 'idle' | 'training' | 'done' | 'error';
  flow: string;
  iterations: number;
  firstLoss: number;
  lastLoss: number;
  error?: string;
}

export interface DemoStatus {
  mnist: MnistStatus;
  density: DensityStatus;
}
