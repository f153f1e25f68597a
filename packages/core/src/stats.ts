// Counters of meProp's backward work. Updated from shapes only, so collecting them never reads a tensor
// (no GPU/CPU sync is added to the training step).

export interface MePropStats {
  /** Matmul backwards that went through meProp since the last reset. */
  backwardCalls: number;
  /** Kept entries of dy divided by all entries of dy, over those calls (0 when there were none). */
  keptFraction: number;
  /** Multiply-adds the dense backward (dx and dW) would have done. */
  denseMacs: number;
  /** Multiply-adds the sparse backward did. */
  sparseMacs: number;
}

const counters = { backwardCalls: 0, kept: 0, total: 0, denseMacs: 0, sparseMacs: 0 };

/** Records one sparse backward of X[M,K] @ W[K,N] keeping k entries per row. */
export function recordBackward(M: number, K: number, N: number, k: number): void {
  counters.backwardCalls += 1;
  counters.kept += M * k;
  counters.total += M * N;
  counters.denseMacs += 2 * M * K * N;
  counters.sparseMacs += 2 * M * K * k;
}

export function getMePropStats(): MePropStats {
  return {
    backwardCalls: counters.backwardCalls,
    keptFraction: counters.total === 0 ? 0 : counters.kept / counters.total,
    denseMacs: counters.denseMacs,
    sparseMacs: counters.sparseMacs,
  };
}

export function resetMePropStats(): void {
  counters.backwardCalls = 0;
  counters.kept = 0;
  counters.total = 0;
  counters.denseMacs = 0;
  counters.sparseMacs = 0;
}
