// The meProp options every layer of this package takes (`k`, `mode`, `seed`), validated once.
import { MePropConfig, MePropMode, validateMePropConfig } from '@meprop/core';

/** What the meProp layers add to tfjs's layer arguments. */
export interface MePropLayerArgs {
  /** Entries of the output gradient kept per row: an integer >= 1, or a fraction of the width in (0, 1). */
  k: number;
  /** 'per-example' (default), 'unified', 'random' or 'per-sample' (conv layers); see MePropConfig in @meprop/core. */
  mode?: MePropMode;
  /** Seed of `random` mode. */
  seed?: number;
}

/**
 * A fresh config object per layer: @meprop/core caches the random generator per config object, so each
 * layer keeps its own stream and no state is shared between layers.
 */
export function layerMePropConfig(args: unknown, where: string): MePropConfig {
  const r = validateMePropConfig(args, where);
  const config: MePropConfig = { k: r.k, mode: r.mode };
  if (r.seed !== undefined) config.seed = r.seed;
  return config;
}

/** The meProp fields of a layer's getConfig(). */
export function mePropConfigEntries(config: MePropConfig): { k: number; mode: MePropMode; seed?: number } {
  const out: { k: number; mode: MePropMode; seed?: number } = { k: config.k, mode: config.mode ?? 'per-example' };
  if (config.seed !== undefined) out.seed = config.seed;
  return out;
}

const nameCounts = new Map<string, number>();

/**
 * tfjs derives a default layer name from the class name, and our class names contain '>' (so they cannot
 * clash with tfjs's), which is not valid in a tensor name: give unnamed layers `${prefix}_${n}` instead.
 */
export function withDefaultName<T extends { name?: string }>(args: T, prefix: string): T {
  if (args.name !== undefined && args.name !== null) return args;
  const n = (nameCounts.get(prefix) ?? 0) + 1;
  nameCounts.set(prefix, n);
  return { ...args, name: `${prefix}_${n}` };
}
