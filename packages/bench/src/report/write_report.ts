// Writes everything a run produces into the output directory:
//   <name>.json (the result document), <name>.md, <name>.html, and <name>-<chart>.svg per chart.
import * as fs from 'fs';
import * as path from 'path';
import { writeResultJson } from '../results/json_io';
import type { BenchResult } from '../results/schema';
import { chartSpecs } from './chart_specs';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { renderVegaLiteSvg } from './render_svg';

export interface WrittenReport {
  json: string;
  markdown: string;
  html: string;
  svgs: string[];
}

export async function writeReport(r: BenchResult, outDir: string, name: string = r.command): Promise<WrittenReport> {
  fs.mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, `${name}.json`);
  writeResultJson(json, r);
  const svgByChart = new Map<string, string>();
  const fileByChart = new Map<string, string>();
  const svgs: string[] = [];
  for (const chart of chartSpecs(r)) {
    const svg = await renderVegaLiteSvg(chart.spec);
    const file = `${name}-${chart.name}.svg`;
    fs.writeFileSync(path.join(outDir, file), svg);
    svgByChart.set(chart.name, svg);
    fileByChart.set(chart.name, file);
    svgs.push(path.join(outDir, file));
  }
  const markdown = path.join(outDir, `${name}.md`);
  fs.writeFileSync(markdown, renderMarkdown(r, fileByChart));
  const html = path.join(outDir, `${name}.html`);
  fs.writeFileSync(html, renderHtml(r, svgByChart));
  return { json, markdown, html, svgs };
}
