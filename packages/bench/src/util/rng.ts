// Seeded random numbers for the benchmarks, drawn from @meprop/core's Rng (the project's one seedable PRNG), so
// every run with the same --seed visits the data in the same order.
import { Rng as CoreRng } from '@meprop/core';

export type Rng = () => number;

/** A uniform [0, 1) generator from an integer seed. */
export function makeRng(seed: number): Rng {
  if (!Number.isInteger(seed)) {
    throw new Error(`seed must be an integer, got ${seed}`);
  }
  const rng = new CoreRng(seed);
  return () => rng.nextFloat();
}

/** A Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
