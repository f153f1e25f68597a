import * as fs from 'fs';
import * as path from 'path';
import { readResultJson, writeResultJson } from '../results/json_io';
import { sampleResult, slowedDown } from '../test-helpers/sample_results';
import { tempDir, removeTempDirs } from '../test-helpers/idx_fixtures';
import { compareResults } from './compare';
import { formatCompare } from './format_compare';
import { runCompare } from './run_compare';

describe('compare', () => {
  const dir = tempDir();
  const basePath = path.join(dir, 'base.json');
  writeResultJson(basePath, sampleResult());

  it('passes two runs of the same code', () => {
    const headPath = path.join(dir, 'same.json');
    writeResultJson(headPath, sampleResult());
    const out = runCompare(basePath, headPath, 0.1);
    expect(out.exitCode).toBe(0);
    expect(out.text).toMatch(/OK: no metric regressed by more than 10\.0%/);
    expect(out.text).toMatch(/mnist\.adam\.unified\.k20\.stepMs/);
  });

  it('fails on a planted 20% slow-down and names the metrics', () => {
    const headPath = path.join(dir, 'slow.json');
    writeResultJson(headPath, slowedDown(sampleResult(), 1.2));
    const out = runCompare(basePath, headPath, 0.1);
    expect(out.exitCode).toBe(1);
    expect(out.text).toMatch(/FAIL: \d+ metric\(s\) regressed/);
    // The ratios gate by default; the slower absolute time is shown but not counted.
    expect(out.text).toMatch(/mnist\.adam\.unified\.k20\.speedup\.step.*REGRESSED/);
    expect(out.text).toMatch(/kernels\.32x500x500\.k20\.unified\.mePropMs.*slower \(time, not gated\)/);
    expect(out.text).not.toMatch(/kernels\.32x500x500\.k20\.unified\.mePropMs: 5 -> 6/);
    const gated = runCompare(basePath, headPath, 0.1, { gateTimes: true });
    expect(gated.exitCode).toBe(1);
    expect(gated.text).toMatch(/kernels\.32x500x500\.k20\.unified\.mePropMs: 5 -> 6 \(\+20\.0%\)/);
  });

  it('does not fail when only absolute times moved (a slower machine), unless told to gate them', () => {
    const slowerMachine = JSON.parse(JSON.stringify(sampleResult())) as ReturnType<typeof sampleResult>;
    for (const c of slowerMachine.kernels?.cases ?? []) {
      c.plainMs *= 1.3;
      c.mePropMs *= 1.3;
    }
    expect(compareResults(sampleResult(), slowerMachine, 0.1).regressions).toHaveLength(0);
    expect(compareResults(sampleResult(), slowerMachine, 0.1, { gateTimes: true }).regressions.length).toBeGreaterThan(0);
  });

  it('tolerates a 5% slow-down at 10% and flags it at 1%', () => {
    const slow = slowedDown(sampleResult(), 1.05);
    expect(compareResults(sampleResult(), slow, 0.1).regressions).toHaveLength(0);
    expect(compareResults(sampleResult(), slow, 0.01).regressions.length).toBeGreaterThan(0);
  });

  it('treats a lower ELBO (negative figure, higher is better) as a regression', () => {
    const worse = sampleResult();
    worse.iaf!.runs[1].testElbo = -130;
    const res = compareResults(sampleResult(), worse, 0.1);
    expect(res.regressions.map((r) => r.name)).toEqual(['iaf.iaf2.testElbo']);
    expect(formatCompare(res)).toMatch(/iaf\.iaf2\.testElbo: -107 -> -130/);
  });

  it('reports metrics present on one side only without failing', () => {
    const head = sampleResult();
    head.iaf = undefined;
    const res = compareResults(sampleResult(), head, 0.1);
    expect(res.regressions).toHaveLength(0);
    expect(res.rows.some((r) => r.status === 'missing-in-head' && r.name === 'iaf.iaf2.testElbo')).toBe(true);
  });

  it('errors clearly on a wrong schema', () => {
    const wrong = path.join(dir, 'wrong.json');
    fs.writeFileSync(wrong, JSON.stringify({ ...sampleResult(), schemaVersion: 99 }));
    expect(() => runCompare(basePath, wrong, 0.1)).toThrow(/wrong\.json: schemaVersion: version number 99 is not supported, expected 1/);
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ hello: 'world' }));
    expect(() => runCompare(other, basePath, 0.1)).toThrow(/other\.json: not a meprop-bench result/);
    const broken = sampleResult() as unknown as { mnist: { runs: { timing: { stepMs: unknown } }[] } };
    broken.mnist.runs[2].timing.stepMs = 'fast';
    const brokenPath = path.join(dir, 'broken.json');
    fs.writeFileSync(brokenPath, JSON.stringify(broken));
    expect(() => readResultJson(brokenPath)).toThrow(/broken\.json: mnist\.runs\[2\]\.timing\.stepMs: expected a number, got 'fast'/);
    const notJson = path.join(dir, 'not.json');
    fs.writeFileSync(notJson, '{');
    expect(() => readResultJson(notJson)).toThrow(/not\.json: not valid JSON/);
  });
});

afterAll(() => removeTempDirs());
