import type { CompareResult, CompareRow } from './compare';
import { formatNumber, tableToText, type Table } from '../report/table';

function pct(change: number | null): string {
  if (change === null) return '';
  const s = (change * 100).toFixed(1);
  return `${change > 0 ? '+' : ''}${s}%`;
}

const STATUS_TEXT: Record<CompareRow['status'], string> = {
  ok: 'ok',
  improved: 'better',
  regressed: 'REGRESSED',
  slower: 'slower (time, not gated)',
  'missing-in-head': 'missing in head',
  'new-in-head': 'new in head',
};

export function compareTable(result: CompareResult): Table {
  return {
    title: `Differences (tolerance ${(result.tolerance * 100).toFixed(1)}%)`,
    headers: ['metric', 'unit', 'better', 'base', 'head', 'change', 'status'],
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'l'],
    rows: result.rows.map((r) => [
      r.name,
      r.unit,
      r.better,
      r.base === null ? '' : formatNumber(r.base),
      r.head === null ? '' : formatNumber(r.head),
      pct(r.change),
      STATUS_TEXT[r.status],
    ]),
  };
}

/** The console output of `compare`: warnings, the table, and a verdict line. */
export function formatCompare(result: CompareResult): string {
  const lines: string[] = [];
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  lines.push(tableToText(compareTable(result)));
  if (!result.gateTimes && result.rows.some((r) => r.status === 'slower')) {
    lines.push('note: absolute times vary with machine load and only gate with --gate-times; ratios and accuracies gate always');
  }
  if (result.mismatches.length > 0) {
    lines.push(`FAIL: the two runs are not comparable (pass --allow-mismatch to compare them anyway):`);
    for (const m of result.mismatches) lines.push(`  ${m}`);
  } else if (result.regressions.length === 0) {
    lines.push(`OK: no metric regressed by more than ${(result.tolerance * 100).toFixed(1)}%`);
  } else {
    lines.push(`FAIL: ${result.regressions.length} metric(s) regressed by more than ${(result.tolerance * 100).toFixed(1)}%:`);
    for (const r of result.regressions)
      lines.push(`  ${r.name}: ${formatNumber(r.base ?? NaN)} -> ${formatNumber(r.head ?? NaN)} (${pct(r.change)})`);
  }
  return lines.join('\n');
}
