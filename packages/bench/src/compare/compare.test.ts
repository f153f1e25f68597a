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

  it('fails when the runs come from different commands, naming them, even though metrics are absent on one side', () => {
    const kernelsOnly = sampleResult('kernels');
    kernelsOnly.mnist = undefined;
    kernelsOnly.kSweep = undefined;
    kernelsOnly.iaf = undefined;
    kernelsOnly.ci = undefined;
    const mnistOnly = sampleResult('mnist');
    mnistOnly.kernels = undefined;
    mnistOnly.kSweep = undefined;
    mnistOnly.iaf = undefined;
    mnistOnly.ci = undefined;
    const res = compareResults(kernelsOnly, mnistOnly, 0.1);
    expect(res.mismatches).toEqual([
      "commands differ: base 'kernels', head 'mnist'",
      'no metric is present in both files, so nothing can be compared',
    ]);
    expect(res.regressions).toHaveLength(0);
    const text = formatCompare(res);
    expect(text).toMatch(/FAIL: the two runs are not comparable/);
    expect(text).not.toMatch(/OK:/);
  });

  it('fails when backend, shapes or settings differ, and names both values', () => {
    const other = sampleResult();
    other.environment.backend = 'wasm';
    other.config.epochs = 3;
    other.config.options = { k: 20, shapes: ['64x500x500:20'] };
    const res = compareResults(sampleResult(), other, 0.1);
    expect(res.mismatches).toEqual([
      "backends differ: base 'cpu', head 'wasm'",
      'settings differ: epochs is 2 in base, 3 in head',
      'settings differ: option shapes is undefined in base, ["64x500x500:20"] in head',
    ]);
    // Paths to the same kind of input are not settings.
    const moved = sampleResult();
    moved.config.options = { k: 20, thresholds: '/elsewhere/ci.json' };
    expect(compareResults(sampleResult(), moved, 0.1).mismatches).toEqual([]);
  });

  it('with allowMismatch, compares anyway and lists the differences as warnings', () => {
    const other = sampleResult();
    other.environment.backend = 'wasm';
    const res = compareResults(sampleResult(), other, 0.1, { allowMismatch: true });
    expect(res.mismatches).toEqual([]);
    expect(res.warnings).toContain("backends differ: base 'cpu', head 'wasm'");
    expect(formatCompare(res)).toMatch(/OK: no metric regressed/);
  });

  it('fails when there is no metric in common, even for the same command', () => {
    const empty = sampleResult();
    empty.mnist = undefined;
    empty.kSweep = undefined;
    empty.kernels = undefined;
    empty.iaf = undefined;
    empty.ci = undefined;
    expect(compareResults(sampleResult(), empty, 0.1).mismatches).toEqual([
      'no metric is present in both files, so nothing can be compared',
    ]);
  });

  it('errors clearly on a wrong schema', () => {
    const wrong = path.join(dir, 'wrong.json');
    fs.writeFileSync(wrong, JSON.stringify({ ...sampleResult(), schemaVersion: 99 }));
    expect(() => runCompare(basePath, wrong, 0.1)).toThrow(
      /wrong\.json: schemaVersion: version number 99 is not supported, expected 1/,
    );
    const other = path.join(dir, 'other.json');
    fs.writeFileSync(other, JSON.stringify({ hello: 'world' }));
    expect(() => runCompare(other, basePath, 0.1)).toThrow(/other\.json: not a meprop-bench result/);
    const broken = sampleResult() as unknown as { mnist: { runs: { timing: { stepMs: unknown } }[] } };
    broken.mnist.runs[2].timing.stepMs = 'fast';
    const brokenPath = path.join(dir, 'broken.json');
    fs.writeFileSync(brokenPath, JSON.stringify(broken));
    expect(() => readResultJson(brokenPath)).toThrow(
      /broken\.json: mnist\.runs\[2\]\.timing\.stepMs: expected a number, got 'fast'/,
    );
    const notJson = path.join(dir, 'not.json');
    fs.writeFileSync(notJson, '{');
    expect(() => readResultJson(notJson)).toThrow(/not\.json: not valid JSON/);
  });
});

afterAll(() => removeTempDirs());
