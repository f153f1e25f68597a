// first-layer, scope, vae-exclude and simp-lstm through the CLI on tiny settings: what they compute and report,
// never how fast (no timing is asserted).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readResultJson } from '../results/json_io';
import { validateBenchResult } from '../results/validate';
import type { BenchResult } from '../results/schema';
import { runCli } from '../test-helpers/run_cli';
import { removeTempDirs, tempDir } from '../test-helpers/idx_fixtures';

jest.setTimeout(300_000);

const dir = tempDir();

async function runOk(command: string, args: string[]): Promise<{ doc: BenchResult; stdout: string; markdown: string }> {
  const out = path.join(dir, command);
  const res = await runCli([command, '--backend', 'cpu', '--no-progress', '--out', out, ...args]);
  if (res.code !== 0) throw new Error(`${command} exited ${res.code}: ${res.stderr}`);
  return {
    doc: readResultJson(path.join(out, `${command}.json`)),
    stdout: res.stdout,
    markdown: fs.readFileSync(path.join(out, `${command}.md`), 'utf8'),
  };
}

describe('commands moved from packages/layers/bench', () => {
  it('each has its own help, with only the options that apply', async () => {
    const help = async (cmd: string): Promise<string> => (await runCli([cmd, '--help'])).stdout;
    const firstLayer = await help('first-layer');
    expect(firstLayer).toMatch(/--shape <MxKxN>/);
    expect(firstLayer).toMatch(/--density/);
    expect(firstLayer).not.toMatch(/--epochs|--data-dir|--batch-size|--quick/);
    const scope = await help('scope');
    expect(scope).toMatch(/--models <list>/);
    expect(scope).not.toMatch(/--epochs|--data-dir|--density/);
    const vae = await help('vae-exclude');
    expect(vae).toMatch(/--variants <list>/);
    expect(vae).toMatch(/--data-dir/);
    expect(vae).not.toMatch(/--quick|--units/);
    const lstm = await help('simp-lstm');
    expect(lstm).toMatch(/--units <n>/);
    expect(lstm).toMatch(/--epochs <n>/);
    expect(lstm).not.toMatch(/--data-dir|--quick|--variants/);
    expect((await runCli(['first-layer', '--shape', '4x8', '--no-progress'])).code).toBe(2);
    expect((await runCli(['scope', '--models', 'resnet', '--no-progress'])).code).toBe(2);
  });

  it('first-layer: the three meProp variants give the same dW, which differs from the exact one; no tensor leaks', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const { doc, markdown } = await runOk('first-layer', ['--shape', '6x40x10', '--k', '2', '--reps', '2', '--warmup', '1']);
    expect(tf.memory().numTensors).toBe(before);
    const t = doc.variantTimings!;
    expect(t.reference).toBe('mePropMatMul');
    expect(t.rows.map((r) => r.variant)).toEqual(['tf.matMul', 'withMeProp + tf.matMul', 'mePropMatMul', 'mePropDense']);
    expect(t.rows.every((r) => r.case === '6x40x10.k2')).toBe(true);
    expect(t.rows[0].wallSpeedup).toBeNull();
    expect(t.rows.slice(1).every((r) => r.wallSpeedup !== null && r.cpuSpeedup !== null)).toBe(true);
    // k = 2 of 10 columns kept: the exact gradient has entries meProp drops.
    expect(t.rows[0].maxAbsDiff).toBeGreaterThan(1e-3);
    for (const r of t.rows.slice(1)) expect(r.maxAbsDiff).toBeLessThan(1e-6);
    expect(doc.config.options).toMatchObject({ shape: '6x40x10', k: 2, mode: 'unified' });
    expect(markdown).toMatch(/\| x 6x40 \(multi-hot, 1\.0% ones\) @ W 40x10, unified k=2 \| mePropDense \|/);
  });

  it('scope: plain, withMeProp and mePropify rows per model, speed-ups against plain', async () => {
    const { doc, markdown } = await runOk('scope', ['--models', 'mnist', '--steps', '1', '--warmup', '0']);
    const rows = doc.variantTimings!.rows;
    expect(rows.map((r) => `${r.case} ${r.variant}`)).toEqual(['mnist plain', 'mnist withMeProp', 'mnist mePropify']);
    expect(rows[0].wallSpeedup).toBeNull();
    expect(rows[2].wallSpeedup).toBeCloseTo(rows[0].wallMs / rows[2].wallMs, 10);
    expect(markdown).toMatch(/MNIST dense 784-128-10, batch 320, k 13 \| mePropify/);
  });

  it('vae-exclude: plain tfjs learns (below the 784 ln 2 nats of p = 0.5), every variant reports a loss per epoch', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const { doc } = await runOk('vae-exclude', [
      ...['--epochs', '2', '--batch-size', '32', '--hidden', '16', '--train-size', '128', '--test-size', '50', '--lr', '0.01'],
      ...['--variants', 'plain,excl', '--k', '4'],
    ]);
    expect(tf.memory().numTensors).toBe(before);
    const v = doc.vaeExclude!;
    expect(v.rows.map((r) => r.variant)).toEqual(['plain', 'excl']);
    expect(v.rows[1].description).toBe('withMeProp k=4 unified, decoder output excluded');
    for (const r of v.rows) {
      expect(r.testLossCurve).toHaveLength(2);
      expect(r.testLoss).toBe(r.testLossCurve[1]);
    }
    expect(v.rows[0].testLoss).toBeLessThan(784 * Math.log(2));
    expect(v.rows[0].stepCpuSpeedup).toBeNull();
    expect(v.rows[1].stepCpuSpeedup).not.toBeNull();
    expect(doc.config).toMatchObject({ epochs: 2, batchSize: 32 });
  });

  it('simp-lstm: the LSTM shrinks in the meSimp cycles; every model is evaluated', async () => {
    const { doc, markdown } = await runOk('simp-lstm', [
      ...['--units', '8', '--k', '2', '--threshold', '0.2', '--min-units', '2', '--cycles', '2', '--epochs', '1'],
      ...['--train-size', '96', '--test-size', '64', '--steps', '6', '--vocab', '8'],
    ]);
    const run = doc.simpLstm!.runs[0];
    expect(run.seed).toBe(1);
    expect(run.cycleUnits).toHaveLength(2);
    // The first cycle ends with a simplification, the last (fine-tuning) one does not.
    expect(run.cycleUnits[0]).toBeLessThan(8);
    expect(run.cycleUnits[0]).toBeGreaterThanOrEqual(2);
    expect(run.simplifiedUnits).toBe(run.cycleUnits[1]);
    expect(run.simplifiedUnits).toBe(run.cycleUnits[0]);
    for (const a of [run.plainAccuracy, run.simplifiedAccuracy, run.reducedAccuracy, ...run.cycleAccuracies]) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
    }
    expect(markdown).toContain(`8 -> ${run.simplifiedUnits}`);
  });

  it('a result file with a malformed new section is refused, naming the field', () => {
    const doc = {
      ...JSON.parse(JSON.stringify(sampleHeader())),
      variantTimings: {
        what: 'x',
        rows: [{ case: 'a', description: 'a', variant: 'v', wallMs: 1, wallSpeedup: null, cpuSpeedup: null, reps: 1 }],
      },
    };
    expect(() => validateBenchResult(doc, 'f.json')).toThrow(
      /f\.json: variantTimings\.rows\[0\]\.cpuMs: expected a number, got nothing/,
    );
  });
});

function sampleHeader(): Omit<BenchResult, 'command'> & { command: string } {
  return {
    schemaVersion: 1,
    tool: '@meprop/bench',
    command: 'first-layer',
    config: { seed: 1, epochs: 0, batchSize: 0, quick: false, dataSource: 'synthetic', options: {} },
    environment: {
      backend: 'cpu',
      tfjsVersion: '4.22.0',
      nodeVersion: 'v20',
      cpuModel: 'x',
      cpuCount: 1,
      platform: 'linux',
      arch: 'x64',
      date: '2026-12-02T00:00:00Z',
    },
  };
}

afterAll(() => removeTempDirs());
