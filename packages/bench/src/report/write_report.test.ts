import * as fs from 'fs';
import * as path from 'path';
import { readResultJson } from '../results/json_io';
import { sampleResult } from '../test-helpers/sample_results';
import { tempDir, removeTempDirs } from '../test-helpers/idx_fixtures';
import { chartSpecs } from './chart_specs';
import { renderVegaLiteSvg } from './render_svg';
import { writeReport } from './write_report';

/** Well-formedness without an XML library: one <svg> root, every tag closed in order. */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toMatch(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  const body = svg.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
}

describe('report writers', () => {
  const dir = tempDir();
  const doc = sampleResult();
  let written: Awaited<ReturnType<typeof writeReport>>;

  beforeAll(async () => {
    written = await writeReport(doc, dir, 'all');
  });

  it('writes JSON that reads back to the same document', () => {
    expect(readResultJson(written.json)).toEqual(doc);
  });

  it('writes one SVG per chart, each valid and drawn from the data', () => {
    const names = chartSpecs(doc).map((c) => c.name);
    expect(names).toEqual(['accuracy-vs-k', 'training-speedups', 'kernel-speedups', 'elbo-curves', 'ci-checks']);
    expect(written.svgs.map((p) => path.basename(p))).toEqual(names.map((n) => `all-${n}.svg`));
    for (const file of written.svgs) expectWellFormedSvg(fs.readFileSync(file, 'utf8'));
    const speed = fs.readFileSync(path.join(dir, 'all-training-speedups.svg'), 'utf8');
    // Axis labels come from the configurations in the data.
    expect(speed).toContain('adam unified k=20');
    expect(speed).toContain('adagrad unified k=20');
    const elbo = fs.readFileSync(path.join(dir, 'all-elbo-curves.svg'), 'utf8');
    expect(elbo).toContain('iaf2');
    expect(elbo).toContain('diagonal');
    // A different document gives a different picture.
    const k = fs.readFileSync(path.join(dir, 'all-accuracy-vs-k.svg'), 'utf8');
    expect(k).toContain('random-k');
  });

  it('renders marks for each data point (bars scale with the values)', async () => {
    const spec = chartSpecs(doc).find((c) => c.name === 'kernel-speedups')!.spec;
    const svg = await renderVegaLiteSvg(spec);
    expect((svg.match(/role-mark/g) ?? []).length).toBeGreaterThan(0);
    expect(svg).toContain('32x500x500.k20');
  });

  it('writes Markdown with the figures and links to the charts', () => {
    const md = fs.readFileSync(written.markdown, 'utf8');
    expect(md).toContain('# meprop-bench ci (cpu)');
    expect(md).toMatch(/\| adam \| unified \| 20 \| 0\.001 \| 94\.90% \|/);
    expect(md).toContain('| 50 | 10.0% | 91.00% | 75.00% |');
    expect(md).toMatch(/\| iaf2 \| -107 \| -103 \| 100 \| 40 \|/);
    expect(md).toContain('![elbo-curves](all-elbo-curves.svg)');
    expect(md).toContain('## CI checks: PASSED');
    expect(md).toContain('Test CPU (2 logical)');
  });

  it('writes a self-contained HTML page with the SVGs inlined', () => {
    const html = fs.readFileSync(written.html, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html).toContain('<td class="num">94.90%</td>');
  });
});

afterAll(() => removeTempDirs());
