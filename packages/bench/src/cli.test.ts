import * as fs from 'fs';
import * as path from 'path';
import { main } from './cli';
import { writeResultJson } from './results/json_io';
import { sampleResult, slowedDown } from './test-helpers/sample_results';
import { tempDir, removeTempDirs } from './test-helpers/idx_fixtures';

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await main(['node', 'meprop-bench', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('meprop-bench CLI', () => {
  const dir = tempDir();
  const base = path.join(dir, 'base.json');
  const same = path.join(dir, 'same.json');
  const slow = path.join(dir, 'slow.json');
  writeResultJson(base, sampleResult());
  writeResultJson(same, sampleResult());
  writeResultJson(slow, slowedDown(sampleResult(), 1.2));

  it('compare exits 0 on identical runs and 1 on a planted 20% slow-down', async () => {
    expect((await runCli(['compare', base, same])).code).toBe(0);
    const res = await runCli(['compare', base, slow]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/REGRESSED/);
  });

  it('compare --tolerance 25% lets a 20% slow-down pass', async () => {
    expect((await runCli(['compare', base, slow, '--tolerance', '25%'])).code).toBe(0);
  });

  it('compare errors (exit 2) on a file of another schema, naming it', async () => {
    const wrong = path.join(dir, 'v0.json');
    fs.writeFileSync(wrong, JSON.stringify({ schemaVersion: 0 }));
    const res = await runCli(['compare', base, wrong]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/v0\.json: schemaVersion: version number 0 is not supported/);
  });

  it('simp rejects a threshold outside [0, 1) and a bad --min-units, naming the option (exit 2)', async () => {
    for (const v of ['1', '-0.1', 'x']) {
      const res = await runCli(['simp', '--threshold', v]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`option '--threshold <x>' argument '${v}' is invalid. --threshold must be a number in \\[0, 1\\)`));
    }
    const res = await runCli(['simp', '--min-units', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--min-units must be an integer >= 1/);
  });

  it('rejects a bad option value naming the option and the value (exit 2)', async () => {
    const res = await runCli(['mnist', '--epochs', 'two']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/option '--epochs <n>' argument 'two' is invalid/);
    const res2 = await runCli(['kernels', '--backend', 'gpu']);
    expect(res2.stderr).toMatch(/--backend <name>' argument 'gpu' is invalid\. expected one of cpu, wasm, tensorflow/);
    const res3 = await runCli(['compare', base, same, '--tolerance', 'lots']);
    expect(res3.code).toBe(2);
    expect(res3.stderr).toMatch(/--tolerance <percent>' argument 'lots' is invalid/);
  });

  it('report re-creates the Markdown, HTML and SVGs from JSON', async () => {
    const out = path.join(dir, 'report');
    const res = await runCli(['report', base, '--out', out]);
    expect(res.code).toBe(0);
    expect(fs.existsSync(path.join(out, 'base.md'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'base.html'))).toBe(true);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.svg')).length).toBe(5);
  });
});

afterAll(() => removeTempDirs());
