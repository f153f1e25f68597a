// Parsers for CLI option values. Each throws commander's InvalidArgumentError, which commander reports as
// "option '--x <v>' argument 'bad' is invalid. <our message>", so the option and the value are both named.
import { InvalidArgumentError } from 'commander';
import { BACKEND_NAMES, type BackendName } from '../results/schema';

export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${what} must be an integer >= 1.`);
    }
    return n;
  };
}

export function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n)) throw new InvalidArgumentError(`${what} must be an integer >= 0.`);
    return n;
  };
}

export function positiveNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a number > 0.`);
    return n;
  };
}

export function parseBackend(value: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${BACKEND_NAMES.join(', ')}.`);
  }
  return value as BackendName;
}

export function oneOfList<T extends string>(what: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError(`${what}: give at least one of ${allowed.join(', ')}.`);
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(`${what}: '${item}' is not one of ${allowed.join(', ')}.`);
      }
    }
    return [...new Set(items)] as T[];
  };
}

export function intList(what: string) {
  return (value: string): number[] => {
    const items = value.split(',').map((s) => s.trim());
    return items.map((s) => positiveInt(`${what} entries`)(s));
  };
}

/** Kept fractions for k-sweep: numbers in (0, 1]. */
export function fractionList(value: string): number[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('give at least one fraction in (0, 1].');
  return items.map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`'${s}' is not a fraction in (0, 1].`);
    return n;
  });
}

export interface ShapeSpec {
  batch: number;
  inDim: number;
  outDim: number;
  k: number;
}

/** Kernel shapes as `batchxinxout:k`, comma-separated, e.g. `32x500x500:20,32x1000x1000:50`. */
export function shapeList(value: string): ShapeSpec[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('give at least one shape like 32x500x500:20.');
  return items.map((s) => {
    const m = /^(\d+)x(\d+)x(\d+):(\d+)$/.exec(s);
    if (!m) throw new InvalidArgumentError(`'${s}' is not of the form batchxinxout:k (e.g. 32x500x500:20).`);
    const [batch, inDim, outDim, k] = m.slice(1).map(Number);
    if ([batch, inDim, outDim, k].some((n) => n < 1)) throw new InvalidArgumentError(`'${s}': every size must be >= 1.`);
    if (k > outDim) throw new InvalidArgumentError(`'${s}': k (${k}) must not exceed out (${outDim}).`);
    return { batch, inDim, outDim, k };
  });
}

/** A tolerance in percent: `10`, `10%` or `2.5%` (0 to 100). Returns a fraction. */
export function percent(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage between 0 and 100, e.g. 10%.');
  return n / 100;
}

/** A number in [0, 1) (a threshold or a rate). */
export function unitInterval(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1)
      throw new InvalidArgumentError(`${what} must be a number in [0, 1).`);
    return n;
  };
}

/** A number in (0, 1] (a share). */
export function unitIntervalOpenClosed(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1)
      throw new InvalidArgumentError(`${what} must be a number in (0, 1].`);
    return n;
  };
}

/** meProp's k: an integer >= 1, or a fraction of the layer's width in (0, 1). */
export function kValue(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (n > 1 && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${what} must be an integer >= 1 or a fraction in (0, 1).`);
    }
    return n;
  };
}

/** A JSON object given on the command line (e.g. --overrides). */
export function jsonObject(what: string) {
  return (value: string): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (e) {
      throw new InvalidArgumentError(`${what} must be a JSON object: ${(e as Error).message}.`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new InvalidArgumentError(`${what} must be a JSON object like {"dense_1":{"k":10}}.`);
    return parsed as Record<string, unknown>;
  };
}

/** One matmul shape `MxKxN`: x [M, K] @ W [K, N]. */
export function matmulShape(value: string): { batch: number; inDim: number; outDim: number } {
  const m = /^\s*(\d+)x(\d+)x(\d+)\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError(`'${value}' is not of the form MxKxN (e.g. 32x500x500).`);
  const [batch, inDim, outDim] = m.slice(1).map(Number);
  if ([batch, inDim, outDim].some((n) => n < 1)) throw new InvalidArgumentError(`'${value}': every size must be >= 1.`);
  return { batch, inDim, outDim };
}
