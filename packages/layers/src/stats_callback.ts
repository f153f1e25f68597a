// MePropStatsCallback: per-epoch figures of meProp's backward (kept fraction of dy, multiply-adds saved).
import { CustomCallback, Logs } from '@tensorflow/tfjs-layers';
import { getMePropStats, MePropStats, resetMePropStats } from '@meprop/core';

/** The figures added to each epoch's `logs` (and so to `history.history`). */
export interface MePropEpochStats {
  /** Kept entries of dy / all entries, over the epoch's meProp backwards (0 if there were none). */
  mePropKeptFraction: number;
  /** Multiply-adds of the backward saved by meProp in the epoch (dense minus sparse, dx and dW). */
  mePropMacsSaved: number;
  /** Matmul backwards that went through meProp in the epoch. */
  mePropBackwardCalls: number;
}

export interface MePropStatsCallbackOptions {
  /** Receives one line per epoch; default console.log; null: add the figures to `logs` only. */
  logger?: ((message: string, stats: MePropEpochStats, epoch: number) => void) | null;
}

function epochStats(s: MePropStats): MePropEpochStats {
  return {
    mePropKeptFraction: s.keptFraction,
    mePropMacsSaved: s.denseMacs - s.sparseMacs,
    mePropBackwardCalls: s.backwardCalls,
  };
}

function format(epoch: number, s: MePropEpochStats, denseMacs: number): string {
  const pct = denseMacs === 0 ? 0 : (100 * s.mePropMacsSaved) / denseMacs;
  return (
    `meProp epoch ${epoch + 1}: kept ${(100 * s.mePropKeptFraction).toFixed(2)}% of output gradients, ` +
    `saved ${(s.mePropMacsSaved / 1e6).toFixed(1)}M backward multiply-adds (${pct.toFixed(1)}%) in ${s.mePropBackwardCalls} matmul backwards`
  );
}

/**
 * Pass to `model.fit({ callbacks: [new MePropStatsCallback()] })`. Resets @meprop/core's (process-wide)
 * counters at the start of every epoch, and at its end adds `mePropKeptFraction`, `mePropMacsSaved` and
 * `mePropBackwardCalls` to the epoch's logs and logs a line.
 */
export class MePropStatsCallback extends CustomCallback {
  constructor(options: MePropStatsCallbackOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new Error(`MePropStatsCallback: options must be an object, got ${String(options)}`);
    }
    const logger = options.logger === undefined ? (m: string) => console.log(m) : options.logger;
    if (logger !== null && typeof logger !== 'function') {
      throw new Error(`MePropStatsCallback: options.logger must be a function or null, got ${typeof logger}`);
    }
    super({
      onEpochBegin: async () => resetMePropStats(),
      onEpochEnd: async (epoch: number, logs?: Logs) => {
        const raw = getMePropStats();
        const s = epochStats(raw);
        if (logs !== undefined) Object.assign(logs, s);
        if (logger !== null) logger(format(epoch, s, raw.denseMacs), s, epoch);
      },
    });
  }
}
