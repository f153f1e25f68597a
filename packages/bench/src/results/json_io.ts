import * as fs from 'fs';
import * as path from 'path';
import type { BenchResult } from './schema';
import { validateBenchResult } from './validate';

/** Writes the document as pretty JSON; non-finite numbers (a diverged loss) become null rather than invalid JSON. */
export function writeResultJson(file: string, result: BenchResult): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** Reads and validates a result document; errors name the file. */
export function readResultJson(file: string): BenchResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return validateBenchResult(parsed, file);
}
