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
  /** Warnings that do not fail the comparison (different backend, command, machine). */
  warnings: string[];
  /** Whether absolute times gated the result. */
  gateTimes: boolean;
}

export function compareResults(base: BenchResult, head: BenchResult, tolerance = 0.1, options: CompareOptions = {}): CompareResult {
  const gateTimes = options.gateTimes === true;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new Error(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const warnings: string[] = [];
  if (base.command !== head.command) warnings.push(`commands differ: base '${base.command}', head '${head.command}'`);
  if (base.environment.backend !== head.environment.backend) {
    warnings.push(`backends differ: base '${base.environment.backend}', head '${head.environment.backend}'`);
  }
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
  return { tolerance, rows, regressions: rows.filter((r) => r.status === 'regressed'), warnings, gateTimes };
}
