// One self-contained HTML page: every table and every chart (the SVG inlined), no external resources.
import type { BenchResult } from '../results/schema';
import { environmentTable, resultSections } from './result_tables';
import { escapeHtml, tableToHtml } from './table';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}td.num,th.num{text-align:right}caption{text-align:left;font-weight:600;padding:4px 0}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}`;

/** `charts` maps a chart name to its SVG markup. */
export function renderHtml(r: BenchResult, charts: ReadonlyMap<string, string>): string {
  const title = `meprop-bench ${r.command} (${r.environment.backend})`;
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`, tableToHtml(environmentTable(r))];
  for (const s of resultSections(r)) {
    body.push(`<h2>${escapeHtml(s.heading)}</h2>`);
    if (s.intro) body.push(`<p>${escapeHtml(s.intro)}</p>`);
    for (const t of s.tables) body.push(tableToHtml(t));
    for (const c of s.charts) {
      const svg = charts.get(c);
      if (svg) body.push(`<figure id="chart-${escapeHtml(c)}">${svg}</figure>`);
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
