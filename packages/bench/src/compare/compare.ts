// `compare <base.json> <head.json>`: the metrics of two runs side by side, and which moved the wrong way by more
// than the tolerance. Changes are relative to |base| so that negative figures (ELBOs) compare the same way.
// By default only figures that are stable across runs and machines gate the result: speed-up ratios measured
// within one run, accuracies, ELBOs. Absolute times (ms, s) move with machine load (20% between two runs of the
// same code on a shared runner is common), so they are shown, and gate only with `gateTimes`.
import { metricsOf } from '../results/metrics';
import type { BenchResult, Better } from '../results/schema';

export type RowStatus = 'ok' | 'improved' | 'regressed' | 'slower' | 'missing-in-head' | 'new-in-head';

/** Units of absolute times: informational unless CompareOptions.gateTimes. */
export const TIME_UNITS: readonly string[] = ['ms', 's'];

export interface CompareOptions {
  /** Also fail on absolute times (ms, s) that got slower past the tolerance. Default false. */
  gateTimes?: boolean;
  /**
   * Compare runs of different commands, backends or settings anyway (their differences become warnings).
   * Default false: such runs are not comparable and the comparison fails.
   */
  allowMismatch?: boolean;
}

export interface CompareRow {
  name: string;
  unit: string;
  better: Better;
  base: number | null;
  head: number | null;
  /** (head - base) / |base|; null when either side is absent or base is zero. */
  change: number | null;
  status: RowStatus;
}

export interface CompareResult {
  tolerance: number;
  rows: CompareRow[];
  regressions: CompareRow[];
  /** Warnings that do not fail the comparison (a different machine; mismatches with allowMismatch). */
  warnings: string[];
  /**
   * Why the two runs cannot be compared (different command, backend, shapes or settings, or no metric in
   * common); a non-empty list fails the comparison whatever the metrics say.
   */
  mismatches: string[];
  /** Whether absolute times gated the result. */
  gateTimes: boolean;
}

export function compareResults(
  base: BenchResult,
  head: BenchResult,
  tolerance = 0.1,
  options: CompareOptions = {},
): CompareResult {
  const gateTimes = options.gateTimes === true;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new Error(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const warnings: string[] = [];
  const differences = runDifferences(base, head);
  if (base.environment.cpuModel !== head.environment.cpuModel) {
    warnings.push(`CPUs differ: base '${base.environment.cpuModel}', head '${head.environment.cpuModel}'`);
  }
  const baseMetrics = new Map(metricsOf(base).map((m) => [m.name, m]));
  const headMetrics = new Map(metricsOf(head).map((m) => [m.name, m]));
  const rows: CompareRow[] = [];
  for (const [name, b] of baseMetrics) {
    const h = headMetrics.get(name);
    if (!h) {
      rows.push({ name, unit: b.unit, better: b.better, base: b.value, head: null, change: null, status: 'missing-in-head' });
      continue;
    }
    const change = b.value === 0 ? null : (h.value - b.value) / Math.abs(b.value);
    // A positive `worse` is movement in the bad direction, as a fraction of |base|.
    const worse = change === null ? 0 : b.better === 'higher' ? -change : change;
    // A tiny epsilon keeps a change of exactly the tolerance (up to float noise) from counting as a regression.
    const gated = gateTimes || !TIME_UNITS.includes(b.unit);
    const status: RowStatus =
      worse > tolerance + 1e-9 ? (gated ? 'regressed' : 'slower') : worse < -tolerance ? 'improved' : 'ok';
    rows.push({ name, unit: b.unit, better: b.better, base: b.value, head: h.value, change, status });
  }
  for (const [name, h] of headMetrics) {
    if (!baseMetrics.has(name)) {
      rows.push({ name, unit: h.unit, better: h.better, base: null, head: h.value, change: null, status: 'new-in-head' });
    }
  }
  const mismatches: string[] = [];
  if (options.allowMismatch === true) warnings.push(...differences);
  else mismatches.push(...differences);
  // A guard that compares nothing cannot fail, so it must not pass either.
  if (!rows.some((r) => r.base !== null && r.head !== null)) {
    mismatches.push('no metric is present in both files, so nothing can be compared');
  }
  return { tolerance, rows, regressions: rows.filter((r) => r.status === 'regressed'), warnings, mismatches, gateTimes };
}

/**
 * Option keys that do not change what is measured: where a file is (the data itself is config.dataSource, the
 * model's shape is the modelSignature option) and pass/fail bounds. They may differ between comparable runs.
 */
const NOT_SETTINGS: ReadonlySet<string> = new Set(['thresholds', 'dataDir', 'model', 'data', 'minSpeedup']);

function show(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

/**
 * What makes two runs measure different things: the command, the backend, the run settings (seed, epochs,
 * batch size, quick, data source) and every option of the command (shapes, k, modes...). One line per
 * difference, naming both values.
 */
export function runDifferences(base: BenchResult, head: BenchResult): string[] {
  const out: string[] = [];
  if (base.command !== head.command) out.push(`commands differ: base '${base.command}', head '${head.command}'`);
  if (base.environment.backend !== head.environment.backend) {
    out.push(`backends differ: base '${base.environment.backend}', head '${head.environment.backend}'`);
  }
  const settings: Array<keyof BenchResult['config']> = ['seed', 'epochs', 'batchSize', 'quick', 'dataSource'];
  for (const key of settings) {
    if (show(base.config[key]) !== show(head.config[key])) {
      out.push(`settings differ: ${key} is ${show(base.config[key])} in base, ${show(head.config[key])} in head`);
    }
  }
  const keys = new Set([...Object.keys(base.config.options), ...Object.keys(head.config.options)]);
  for (const key of [...keys].sort()) {
    if (NOT_SETTINGS.has(key)) continue;
    const b = show(base.config.options[key]);
    const h = show(head.config.options[key]);
    if (b !== h) out.push(`settings differ: option ${key} is ${b} in base, ${h} in head`);
  }
  return out;
}
