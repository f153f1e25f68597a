// Bridge to the IAF experiment (experiments/iaf.ts, written separately). It is loaded lazily, by a path the
// compiler does not follow, so the rest of the bench compiles and tests without it; the types below mirror the
// contract that module exports.
import type { MnistData } from '../data/types';
import type { IafFigures, IafPosteriorName, IafRun } from '../results/schema';

export interface IafExperimentOptions {
  epochs: number;
  seed: number;
  batchSize?: number;
  latentSize?: number;
  posteriors?: IafPosteriorName[];
  iwSamples?: number;
  /** Units of the encoder and decoder hidden layers (default: the experiment's size). */
  hidden?: number;
  /** Units of each IAF step's hidden layers. */
  iafHidden?: number;
  /** Adam learning rate. */
  learningRate?: number;
  /** Size of the encoder context h fed to every IAF step (default: none). */
  contextSize?: number;
  quick?: boolean;
  onProgress?: (msg: string, fraction: number) => void;
}

export type IafPosteriorResult = IafRun;

interface IafModule {
  runIafExperiment(data: MnistData, opts: IafExperimentOptions): Promise<IafPosteriorResult[]>;
}

const IAF_MODULE = './iaf';

export function loadIafModule(): IafModule {
  let mod: Partial<IafModule>;
  try {
    // require with a non-literal path: the compiler does not follow it, and it resolves beside this file in
    // src (ts-jest, tsx) and in dist alike.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(IAF_MODULE) as Partial<IafModule>;
  } catch (e) {
    throw new Error(`iaf: the IAF experiment (experiments/iaf) could not be loaded: ${(e as Error).message}`);
  }
  if (typeof mod.runIafExperiment !== 'function') {
    throw new Error('iaf: experiments/iaf does not export runIafExperiment(data, options)');
  }
  return mod as IafModule;
}

export async function runIaf(data: MnistData, opts: IafExperimentOptions): Promise<IafFigures> {
  const { runIafExperiment } = loadIafModule();
  const results = await runIafExperiment(data, opts);
  return {
    runs: results.map((r) => ({
      posterior: r.posterior,
      testElbo: r.testElbo,
      testIwLogLik: r.testIwLogLik,
      iwSamples: r.iwSamples,
      secondsPerEpoch: r.secondsPerEpoch,
      trainElboCurve: [...r.trainElboCurve],
      testElboCurve: [...r.testElboCurve],
    })),
  };
}
