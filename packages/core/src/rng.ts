/**
 * The project's seedable PRNG (mulberry32): deterministic random-k selection without touching Math.random, and
 * (exported) the generator @meprop/bench draws data orders and synthetic data from, so a seed means the same
 * thing everywhere.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new Error(`Rng: seed must be a finite number, got ${String(seed)}`);
    this.state = seed >>> 0;
  }

  /** Next uint32. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return this.nextUint32() % n;
  }
}
