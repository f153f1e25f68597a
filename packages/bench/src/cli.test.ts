import * as fs from 'fs';
import * as path from 'path';
import { folderIO } from '@meprop/layers/node';
import { runCli } from './test-helpers/run_cli';
import { exampleModel } from './test-helpers/example_models';
import { writeResultJson } from './results/json_io';
import { sampleResult, slowedDown } from './test-helpers/sample_results';
import { tempDir, removeTempDirs } from './test-helpers/idx_fixtures';

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
      expect(res.stderr).toMatch(
        new RegExp(`option '--threshold <x>' argument '${v}' is invalid. --threshold must be a number in \\[0, 1\\)`),
      );
    }
    const res = await runCli(['simp', '--min-units', '0']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--min-units must be an integer >= 1/);
  });

  it('simp rejects an unknown --init and a --clip that is not a positive number, naming the option (exit 2)', async () => {
    const init = await runCli(['simp', '--init', 'glorot']);
    expect(init.code).toBe(2);
    expect(init.stderr).toMatch(/option '--init <name>' argument 'glorot' is invalid\. Allowed choices are meprop, mesimp/);
    for (const v of ['0', '-5', 'x']) {
      const clip = await runCli(['simp', '--clip', v]);
      expect(clip.code).toBe(2);
      expect(clip.stderr).toMatch(new RegExp(`option '--clip <x>' argument '${v}' is invalid`));
    }
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

  it('compare exits 1 with a clear reason on runs of different commands', async () => {
    const kernels = path.join(dir, 'kernels.json');
    const k = sampleResult('kernels');
    k.mnist = undefined;
    writeResultJson(kernels, k);
    const res = await runCli(['compare', kernels, base]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/FAIL: the two runs are not comparable[^]*commands differ: base 'kernels', head 'ci'/);
    expect(res.stdout).not.toMatch(/OK:/);
    expect((await runCli(['compare', kernels, base, '--allow-mismatch'])).code).toBe(0);
  });

  it('--version prints the package version', async () => {
    const res = await runCli(['--version']);
    expect(res.code).toBe(0);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(res.stdout.trim()).toBe((require('../package.json') as { version: string }).version);
  });

  it("lists in each command's help only the options that apply to it", async () => {
    const kernels = (await runCli(['kernels', '--help'])).stdout;
    expect(kernels).toMatch(/--shapes/);
    expect(kernels).toMatch(/--backend/);
    expect(kernels).not.toMatch(/--epochs|--data-dir|--batch-size/);
    const ci = (await runCli(['ci', '--help'])).stdout;
    expect(ci).not.toMatch(/--epochs|--batch-size|--quick/);
    const mnist = (await runCli(['mnist', '--help'])).stdout;
    expect(mnist).toMatch(/--epochs[^]*--data-dir[^]*--batch-size/);
    const compare = (await runCli(['compare', '--help'])).stdout;
    expect(compare).toMatch(/--tolerance <percent>\s+allowed regression, e\.g\. 10% or 15 \(default: 10%\)/);
  });

  it('model: measures a saved model, writes JSON/Markdown/SVG, gates with --min-speedup, and compares', async () => {
    const folder = path.join(dir, 'user-model');
    const m = exampleModel('mlp');
    await m.save(folderIO(folder));
    m.dispose();
    const out = path.join(dir, 'model-out');
    const args = (k: string) => [
      'model',
      folder,
      '--backend',
      'cpu',
      '--steps',
      '2',
      '--warmup',
      '1',
      '--optimizers',
      'sgd',
      '--k',
      k,
      '--batch-size',
      '8',
      '--no-progress',
    ];
    const common = args('10');
    const ok = await runCli([...common, '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/dense_Dense1 +Dense +yes +10 +100 +10\.0%/);
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')) as {
      command: string;
      model: { passed: boolean };
    };
    expect([doc.command, doc.model.passed]).toEqual(['model', true]);
    expect(fs.existsSync(path.join(out, 'model.md'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'model-model-speedups.svg'))).toBe(true);
    const gated = await runCli([...common, '--out', path.join(dir, 'model-out2'), '--min-speedup', '1000']);
    expect(gated.code).toBe(1);
    expect(gated.stderr).toMatch(/model FAILED: 1 check\(s\):\n {2}model\.sgd\.speedup = [\d.]+ is below --min-speedup 1000/);
    // Same model and settings (--min-speedup is a check, not a setting): comparable; the timings of two runs may
    // move, hence the wide tolerance. Another k: refused.
    const same = await runCli([
      'compare',
      path.join(out, 'model.json'),
      path.join(dir, 'model-out2', 'model.json'),
      '--tolerance',
      '100%',
    ]);
    expect(same.stdout).not.toMatch(/not comparable/);
    expect(same.stdout).toMatch(/model\.sgd\.speedup/);
    const otherK = path.join(dir, 'model-out3');
    await runCli([...args('20'), '--out', otherK]);
    const cmp = await runCli(['compare', path.join(out, 'model.json'), path.join(otherK, 'model.json')]);
    expect(cmp.code).toBe(1);
    expect(cmp.stdout).toMatch(/settings differ: option k is 10 in base, 20 in head/);
  });

  it('kernels --shape MxKxN --k n measures that one shape (random mode too); --shape with --shapes is refused', async () => {
    const out = path.join(dir, 'kernels-out');
    const res = await runCli([
      'kernels',
      '--shape',
      '4x16x12',
      '--k',
      '3',
      '--modes',
      'unified,random',
      '--reps',
      '1',
      '--warmup',
      '0',
      '--no-progress',
      '--out',
      out,
    ]);
    expect(res.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'kernels.json'), 'utf8')) as {
      kernels: { cases: { label: string; mode: string }[] };
    };
    expect(doc.kernels.cases.map((c) => `${c.label} ${c.mode}`)).toEqual(['4x16x12.k3 unified', '4x16x12.k3 random']);
    const both = await runCli(['kernels', '--shape', '4x16x12', '--shapes', '4x16x12:3', '--no-progress', '--out', out]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give either --shape with --k or --shapes, not both/);
  });

  it('accuracy is mnist with the paper protocol by default', async () => {
    const help = (await runCli(['accuracy', '--help'])).stdout;
    expect(help.replace(/\s+/g, ' ')).toMatch(/--protocol <name> .*\(choices: "quick", "paper", default: "paper"\)/);
    expect((await runCli(['mnist', '--help'])).stdout).toMatch(/default: "quick"/);
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
