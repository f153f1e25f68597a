// Compares the figures a `ci` run measured with the thresholds of its backend.
import type { CiCheck, Metric } from '../results/schema';
import { MAX_GROUPS, MIN_GROUPS, type BackendThresholds } from './thresholds';

/** One check per threshold; a figure the run did not measure (or measured as non-finite) fails. */
export function checkThresholds(figures: readonly Metric[], thresholds: BackendThresholds): CiCheck[] {
  const byName = new Map(figures.map((f) => [f.name, f.value]));
  const checks: CiCheck[] = [];
  const add = (figure: string, threshold: number, comparison: 'min' | 'max'): void => {
    const v = byName.get(figure);
    const value = v !== undefined && Number.isFinite(v) ? v : null;
    const pass = value !== null && (comparison === 'min' ? value >= threshold : value <= threshold);
    checks.push({ figure, value, threshold, comparison, pass });
  };
  for (const group of MIN_GROUPS) {
    for (const [figure, bound] of Object.entries(thresholds[group] ?? {})) add(figure, bound, 'min');
  }
  for (const group of MAX_GROUPS) {
    for (const [figure, bound] of Object.entries(thresholds[group] ?? {})) add(figure, bound, 'max');
  }
  return checks;
}

/** A line per failed check, naming the figure, its value and the bound it broke. */
export function describeFailures(checks: readonly CiCheck[]): string[] {
  return checks
    .filter((c) => !c.pass)
    .map((c) =>
      c.value === null
        ? `${c.figure}: not measured (threshold ${c.comparison} ${c.threshold})`
        : `${c.figure} = ${round(c.value)} is ${c.comparison === 'min' ? 'below the minimum' : 'above the maximum'} ${c.threshold}`,
    );
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}
