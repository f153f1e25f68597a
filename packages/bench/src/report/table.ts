// A table model rendered three ways: Markdown (report.md), HTML (report.html) and aligned text (console).

export interface Table {
  title?: string;
  headers: string[];
  /** Column alignment, 'l' by default. */
  align?: ('l' | 'r')[];
  rows: string[][];
}

/** Four significant digits, plain notation for ordinary magnitudes. */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
  if (Math.abs(v) >= 10 ** digits) return v.toFixed(0);
  return String(Number(v.toPrecision(digits)));
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function tableToMarkdown(t: Table): string {
  const align = t.headers.map((_, i) => (t.align?.[i] === 'r' ? '---:' : '---'));
  const lines = [
    `| ${t.headers.map(escapeMd).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(escapeMd).join(' | ')} |`),
  ];
  return (t.title ? `**${t.title}**\n\n` : '') + lines.join('\n');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableToHtml(t: Table): string {
  const cell = (tag: string, s: string, i: number): string =>
    `<${tag}${t.align?.[i] === 'r' ? ' class="num"' : ''}>${escapeHtml(s)}</${tag}>`;
  const head = `<tr>${t.headers.map((h, i) => cell('th', h, i)).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('\n');
  const caption = t.title ? `<caption>${escapeHtml(t.title)}</caption>` : '';
  return `<table>${caption}\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody></table>`;
}

export function tableToText(t: Table): string {
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (t.align?.[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [fmt(t.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(fmt)];
  return (t.title ? `${t.title}\n` : '') + lines.join('\n');
}
