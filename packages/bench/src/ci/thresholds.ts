// The CI thresholds file (thresholds/ci.json): per backend, lower bounds on speed-ups and accuracies and upper
// bounds on accuracy gaps. Each group maps a figure name (as the `ci` command names it) to its bound.
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_NAMES, type BackendName } from '../results/schema';

export const THRESHOLDS_SCHEMA_VERSION = 1;

/** Groups whose bounds are minimums and groups whose bounds are maximums. */
export const MIN_GROUPS = ['minSpeedup', 'minAccuracy', 'minElboGain'] as const;
export const MAX_GROUPS = ['maxAccuracyGap'] as const;
export type ThresholdGroup = (typeof MIN_GROUPS)[number] | (typeof MAX_GROUPS)[number];

export type BackendThresholds = Partial<Record<ThresholdGroup, Record<string, number>>>;

export interface ThresholdsFile {
  schemaVersion: number;
  description?: string;
  backends: Partial<Record<BackendName, BackendThresholds>>;
}

/** The thresholds shipped with the package (packages/bench/thresholds/ci.json), found from src/ or dist/. */
export function defaultThresholdsPath(): string {
  return path.resolve(__dirname, '..', '..', 'thresholds', 'ci.json');
}

export function parseThresholds(value: unknown, source: string): ThresholdsFile {
  const fail = (where: string, problem: string): never => {
    throw new Error(`${source}: ${where}: ${problem}`);
  };
  if (typeof value !== 'object' || value === null) fail('(root)', 'expected an object');
  const doc = value as Record<string, unknown>;
  if (doc.schemaVersion !== THRESHOLDS_SCHEMA_VERSION) {
    fail('schemaVersion', `expected ${THRESHOLDS_SCHEMA_VERSION}, got ${String(doc.schemaVersion)}`);
  }
  if (typeof doc.backends !== 'object' || doc.backends === null) fail('backends', 'expected an object');
  const groups: readonly string[] = [...MIN_GROUPS, ...MAX_GROUPS];
  for (const [backend, t] of Object.entries(doc.backends as Record<string, unknown>)) {
    if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
      fail(`backends.${backend}`, `unknown backend, expected one of ${BACKEND_NAMES.join(', ')}`);
    }
    if (typeof t !== 'object' || t === null) fail(`backends.${backend}`, 'expected an object');
    for (const [group, figures] of Object.entries(t as Record<string, unknown>)) {
      if (!groups.includes(group)) fail(`backends.${backend}.${group}`, `unknown group, expected one of ${groups.join(', ')}`);
      if (typeof figures !== 'object' || figures === null) fail(`backends.${backend}.${group}`, 'expected an object');
      for (const [figure, bound] of Object.entries(figures as Record<string, unknown>)) {
        if (typeof bound !== 'number' || !Number.isFinite(bound)) {
          fail(`backends.${backend}.${group}.${figure}`, `expected a finite number, got ${String(bound)}`);
        }
      }
    }
  }
  return doc as unknown as ThresholdsFile;
}

export function readThresholds(file: string): ThresholdsFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--thresholds ${file}: cannot read (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseThresholds(parsed, file);
}

export function thresholdsFor(file: ThresholdsFile, backend: BackendName, source: string): BackendThresholds {
  const t = file.backends[backend];
  if (!t) {
    throw new Error(`${source}: no thresholds for backend '${backend}' (has ${Object.keys(file.backends).join(', ') || 'none'})`);
  }
  return t;
}
