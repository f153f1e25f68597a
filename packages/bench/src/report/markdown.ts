import type { BenchResult } from '../results/schema';
import { environmentTable, resultSections } from './result_tables';
import { tableToMarkdown } from './table';

/** The Markdown report; `chartFiles` maps a chart name to its SVG file name (relative to the report). */
export function renderMarkdown(r: BenchResult, chartFiles: ReadonlyMap<string, string>): string {
  const out: string[] = [`# meprop-bench ${r.command} (${r.environment.backend})`, '', tableToMarkdown(environmentTable(r)), ''];
  for (const s of resultSections(r)) {
    out.push(`## ${s.heading}`, '');
    if (s.intro) out.push(s.intro, '');
    for (const t of s.tables) out.push(tableToMarkdown(t), '');
    for (const c of s.charts) {
      const file = chartFiles.get(c);
      if (file) out.push(`![${c}](${file})`, '');
    }
  }
  return out.join('\n');
}
