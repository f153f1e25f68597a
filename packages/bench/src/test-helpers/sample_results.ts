// Synthetic result documents for the report, compare and schema tests (no timing, no training).
import { SCHEMA_VERSION, TOOL_NAME, type BenchCommand, type BenchResult, type MnistRun } from '../results/schema';

function mnistRun(optimizer: 'adam' | 'adagrad', method: MnistRun['method'], acc: number, stepMs: number): MnistRun {
  const plain = method === 'plain';
  return {
    optimizer,
    method,
    k: plain ? null : 20,
    learningRate: optimizer === 'adam' ? 0.001 : 0.1,
    testAccuracy: acc,
    accuracyCurve: [acc - 0.02, acc],
    timing: {
      forwardMs: 10,
      backwardMs: plain ? 40 : 4,
      updateMs: plain ? 20 : 5,
      stepMs,
      trainSeconds: stepMs * 0.8,
      steps: 800,
      timedSteps: 790,
    },
    speedup: plain ? null : { forward: 1, backward: 10, update: 4, step: 70 / stepMs, train: 70 / stepMs },
  };
}

/** A document holding every section, with plausible numbers. */
export function sampleResult(command: BenchCommand = 'ci'): BenchResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: TOOL_NAME,
    command,
    config: { seed: 1, epochs: 2, batchSize: 10, quick: true, dataSource: 'synthetic', options: { k: 20 } },
    environment: {
      backend: 'cpu',
      tfjsVersion: '4.22.0',
      nodeVersion: 'v20.0.0',
      cpuModel: 'Test CPU',
      cpuCount: 2,
      platform: 'linux',
      arch: 'x64',
      date: '2026-01-01T00:00:00.000Z',
    },
    mnist: {
      hidden: [500, 500],
      runs: [
        mnistRun('adam', 'plain', 0.95, 70),
        mnistRun('adam', 'per-example', 0.951, 20),
        mnistRun('adam', 'unified', 0.949, 18),
        mnistRun('adam', 'random', 0.91, 18),
        mnistRun('adagrad', 'plain', 0.94, 60),
        mnistRun('adagrad', 'unified', 0.939, 17),
      ],
    },
    kSweep: {
      hidden: 500,
      optimizer: 'adam',
      baselineAccuracy: 0.95,
      points: [0.02, 0.1, 0.4].flatMap((f) => [
        { selection: 'top-k' as const, k: f * 500, keptFraction: f, testAccuracy: 0.9 + f / 10 },
        { selection: 'random-k' as const, k: f * 500, keptFraction: f, testAccuracy: 0.7 + f / 2 },
      ]),
    },
    kernels: {
      method: 'registry-gradient',
      cases: [
        {
          label: '32x500x500.k20',
          group: 'mnist',
          batch: 32,
          inDim: 500,
          outDim: 500,
          k: 20,
          mode: 'per-example',
          plainMs: 40,
          mePropMs: 4,
          speedup: 10,
          idealSpeedup: 25,
          reps: 20,
        },
        {
          label: '32x500x500.k20',
          group: 'mnist',
          batch: 32,
          inDim: 500,
          outDim: 500,
          k: 20,
          mode: 'unified',
          plainMs: 40,
          mePropMs: 5,
          speedup: 8,
          idealSpeedup: 25,
          reps: 20,
        },
      ],
    },
    iaf: {
      runs: [
        {
          posterior: 'diagonal',
          testElbo: -110,
          testIwLogLik: -105,
          iwSamples: 100,
          secondsPerEpoch: 30,
          trainElboCurve: [-150, -120],
          testElboCurve: [-148, -110],
        },
        {
          posterior: 'iaf2',
          testElbo: -107,
          testIwLogLik: -103,
          iwSamples: 100,
          secondsPerEpoch: 40,
          trainElboCurve: [-145, -115],
          testElboCurve: [-144, -107],
        },
      ],
    },
    ci: {
      thresholdsFile: 'thresholds/ci.json',
      figures: [
        { name: 'kernels.32x500x500.k20.unified.backwardSpeedup', value: 8, better: 'higher', unit: 'x' },
        { name: 'mnist.accuracyGap', value: 0.01, better: 'lower', unit: 'fraction' },
      ],
      checks: [
        { figure: 'kernels.32x500x500.k20.unified.backwardSpeedup', value: 8, threshold: 3, comparison: 'min', pass: true },
      ],
      passed: true,
    },
  };
}

/** The same document with every time multiplied by `factor` and speed-ups divided by it (a planted slow-down). */
export function slowedDown(doc: BenchResult, factor: number): BenchResult {
  const copy = JSON.parse(JSON.stringify(doc)) as BenchResult;
  for (const r of copy.mnist?.runs ?? []) {
    if (r.method === 'plain') continue;
    r.timing.backwardMs *= factor;
    r.timing.updateMs *= factor;
    r.timing.stepMs *= factor;
    r.timing.trainSeconds *= factor;
    if (r.speedup) {
      for (const key of ['backward', 'update', 'step', 'train'] as const) {
        const v = r.speedup[key];
        r.speedup[key] = v === null ? null : v / factor;
      }
    }
  }
  for (const c of copy.kernels?.cases ?? []) {
    c.mePropMs *= factor;
    c.speedup = c.speedup === null ? null : c.speedup / factor;
  }
  return copy;
}
