import { readResultJson } from '../results/json_io';
import { compareResults, CompareOptions } from './compare';
import { formatCompare } from './format_compare';

/**
 * Reads, validates and compares two result files; exitCode 1 when a metric regressed past the tolerance or the
 * runs are not comparable (different command, backend or settings, or no metric in common).
 */
export function runCompare(
  basePath: string,
  headPath: string,
  tolerance: number,
  options: CompareOptions = {},
): { text: string; exitCode: number } {
  const base = readResultJson(basePath);
  const head = readResultJson(headPath);
  const result = compareResults(base, head, tolerance, options);
  return { text: formatCompare(result), exitCode: result.regressions.length > 0 || result.mismatches.length > 0 ? 1 : 0 };
}
