/** How meProp chooses which entries of the output gradient dy to keep. */
export type MePropMode = 'per-example' | 'unified' | 'random' | 'per-sample';

export const ME_PROP_MODES: readonly MePropMode[] = ['per-example', 'unified', 'random', 'per-sample'];

/**
 * meProp configuration.
 * - `k`: how many entries of dy to keep per row: an integer count (>= 1), or a fraction of the output
 *   dimension (0 < k < 1). When k >= the dimension the gradient is exact.
 * - `mode`: `per-example` (default) keeps the k largest |dy| in each row (ties to the lower index);
 *   `unified` keeps one set of k columns for the whole batch, ranked by the sum of |dy| over the batch;
 *   `random` keeps k random entries per row (the paper's ablation baseline); `per-sample` (convolutions: an
 *   ablation) keeps, for each example, the k output channels with the largest Σ|dy| over that example's
 *   positions, at all of its positions (on a matmul, whose row is one example, it is `per-example`).
 * - `seed`: seeds `random` mode, for reproducible runs.
 */
export interface MePropConfig {
  k: number;
  mode?: MePropMode;
  seed?: number;
}

/** A validated config with the mode filled in. */
export interface ResolvedMePropConfig {
  readonly k: number;
  readonly mode: MePropMode;
  readonly seed: number | undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Checks a config and fills in defaults. Throws an Error naming the argument and the bad value.
 * `argName` names the argument in messages (e.g. 'config' or 'options').
 */
export function validateMePropConfig(config: unknown, argName = 'config'): ResolvedMePropConfig {
  if (config === null || typeof config !== 'object') {
    throw new Error(`${argName} must be an object like { k: 20 }, got ${show(config)}`);
  }
  const c = config as Record<string, unknown>;
  const k = c.k;
  if (typeof k !== 'number' || !Number.isFinite(k)) {
    throw new Error(`${argName}.k must be a finite number (an integer >= 1 or a fraction in (0, 1)), got ${show(k)}`);
  }
  if (k <= 0) {
    throw new Error(`${argName}.k must be > 0 (an integer >= 1 or a fraction in (0, 1)), got ${k}`);
  }
  if (k > 1 && !Number.isInteger(k)) {
    throw new Error(`${argName}.k must be an integer when greater than 1 (or a fraction in (0, 1)), got ${k}`);
  }
  const mode = c.mode === undefined ? 'per-example' : c.mode;
  if (typeof mode !== 'string' || !(ME_PROP_MODES as readonly string[]).includes(mode)) {
    throw new Error(`${argName}.mode must be one of ${ME_PROP_MODES.map((m) => `'${m}'`).join(', ')}, got ${show(c.mode)}`);
  }
  const seed = c.seed;
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isFinite(seed))) {
    throw new Error(`${argName}.seed must be a finite number, got ${show(seed)}`);
  }
  return { k, mode: mode as MePropMode, seed: seed as number | undefined };
}

/** The number of entries kept out of `dim` (k is a count, or a fraction of dim; at least 1, at most dim). */
export function keptCount(k: number, dim: number): number {
  const n = k < 1 ? Math.round(k * dim) : k;
  return Math.max(1, Math.min(dim, n));
}
