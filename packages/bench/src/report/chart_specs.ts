// The report's charts as Vega-Lite specs built from a result document: accuracy against k, speed-up bars and
// ELBO curves. Each returns null when the document has no data for it.
import type { TopLevelSpec } from 'vega-lite';
import type { BenchResult } from '../results/schema';
import { simpCharts } from './simp_report';
import { modelSpeedups } from './model_chart';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface ChartSpec {
  /** File-name stem, e.g. 'accuracy-vs-k'. */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

function accuracyVsK(r: BenchResult): ChartSpec | null {
  const ks = r.kSweep;
  if (!ks || ks.points.length === 0) return null;
  const values = [
    ...ks.points.map((p) => ({ series: p.selection, keptPercent: p.keptFraction * 100, accuracy: p.testAccuracy * 100 })),
    ...[...new Set(ks.points.map((p) => p.keptFraction))].map((f) => ({
      series: 'plain tfjs',
      keptPercent: f * 100,
      accuracy: ks.baselineAccuracy * 100,
    })),
  ];
  return {
    name: 'accuracy-vs-k',
    title: `Test accuracy against k/h (h=${ks.hidden}, ${ks.optimizer})`,
    spec: {
      $schema: SCHEMA,
      title: `MNIST test accuracy against k/h (h=${ks.hidden}, ${ks.optimizer})`,
      width: 420,
      height: 260,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'keptPercent', type: 'quantitative', scale: { type: 'log' }, title: 'kept fraction k/h (%)' },
        y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, title: 'test accuracy (%)' },
        color: { field: 'series', type: 'nominal', title: null },
        strokeDash: { condition: { test: "datum.series === 'plain tfjs'", value: [4, 3] }, value: [1, 0] },
      },
    },
  };
}

function mnistSpeedups(r: BenchResult): ChartSpec | null {
  const runs = (r.mnist?.runs ?? []).filter((x) => x.speedup !== null);
  if (runs.length === 0) return null;
  const values = runs.flatMap((x) =>
    (['backward', 'update', 'step', 'train'] as const)
      .filter((phase) => x.speedup?.[phase] != null)
      .map((phase) => ({ config: `${x.optimizer} ${x.method} k=${x.k}`, phase, speedup: x.speedup?.[phase] as number })),
  );
  return {
    name: 'training-speedups',
    title: 'Speed-up over plain tfjs, MNIST MLP',
    spec: {
      $schema: SCHEMA,
      title: `Speed-up over plain tfjs (${r.environment.backend}), MNIST MLP`,
      width: { step: 14 },
      height: 260,
      data: { values },
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'config', type: 'nominal', title: null, axis: { labelAngle: -30 } },
            xOffset: { field: 'phase', type: 'nominal' },
            y: { field: 'speedup', type: 'quantitative', title: 'plain time / meProp time' },
            color: { field: 'phase', type: 'nominal', title: 'phase' },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
      ],
    },
  };
}

function kernelSpeedups(r: BenchResult): ChartSpec | null {
  const cases = r.kernels?.cases ?? [];
  if (cases.length === 0) return null;
  const measured = cases
    .filter((c) => c.speedup !== null && c.speedup > 0)
    .map((c) => ({
      shape: c.label,
      series: c.path === undefined || c.path === 'backward' ? `measured, ${c.mode}` : `measured, ${c.mode}, ${c.path}`,
      speedup: c.speedup as number,
    }));
  const labels = [...new Set(cases.map((c) => c.label))];
  const ideal = labels.map((label) => ({
    shape: label,
    series: 'ideal out/k',
    speedup: (cases.find((c) => c.label === label) as (typeof cases)[number]).idealSpeedup,
  }));
  const values = [...measured, ...ideal];
  return {
    name: 'kernel-speedups',
    title: 'Backward kernel speed-up over plain tfjs',
    spec: {
      $schema: SCHEMA,
      title: `Backward of one linear map: speed-up over plain tfjs (${r.environment.backend})`,
      width: { step: 14 },
      height: 260,
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'shape', type: 'nominal', title: 'batch x in x out . k', axis: { labelAngle: -30 }, sort: null },
        xOffset: { field: 'series', type: 'nominal' },
        y: { field: 'speedup', type: 'quantitative', scale: { type: 'log' }, title: 'plain / meProp (log)' },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
  };
}

function elboCurves(r: BenchResult): ChartSpec | null {
  const runs = r.iaf?.runs ?? [];
  if (runs.length === 0) return null;
  const values = runs
    .flatMap((x) => [
      ...x.trainElboCurve.map((elbo, i) => ({ posterior: x.posterior, split: 'train', epoch: i + 1, elbo })),
      ...x.testElboCurve.map((elbo, i) => ({ posterior: x.posterior, split: 'test', epoch: i + 1, elbo })),
    ])
    .filter((v) => v.elbo !== null && Number.isFinite(v.elbo));
  return {
    name: 'elbo-curves',
    title: 'ELBO per epoch',
    spec: {
      $schema: SCHEMA,
      title: 'VAE on binarized MNIST: ELBO per epoch',
      width: 420,
      height: 260,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'elbo', type: 'quantitative', scale: { zero: false }, title: 'ELBO (nats)' },
        color: { field: 'posterior', type: 'nominal' },
        strokeDash: { field: 'split', type: 'nominal' },
      },
    },
  };
}

function ciFigures(r: BenchResult): ChartSpec | null {
  const checks = (r.ci?.checks ?? []).filter((c) => c.value !== null && c.figure.toLowerCase().includes('speedup'));
  if (checks.length === 0) return null;
  const values = checks.flatMap((c) => [
    { figure: c.figure, kind: 'measured', value: c.value as number },
    { figure: c.figure, kind: 'threshold', value: c.threshold },
  ]);
  return {
    name: 'ci-checks',
    title: 'CI speed-ups against thresholds',
    spec: {
      $schema: SCHEMA,
      title: `CI speed-ups against thresholds (${r.environment.backend})`,
      width: { step: 18 },
      height: 220,
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'figure', type: 'nominal', title: null, axis: { labelAngle: -20, labelLimit: 320 } },
        xOffset: { field: 'kind', type: 'nominal' },
        y: { field: 'value', type: 'quantitative', title: 'speed-up (x)' },
        color: { field: 'kind', type: 'nominal', title: null },
      },
    },
  };
}

export function chartSpecs(r: BenchResult): ChartSpec[] {
  return [
    accuracyVsK(r),
    mnistSpeedups(r),
    kernelSpeedups(r),
    elboCurves(r),
    ciFigures(r),
    ...simpCharts(r),
    modelSpeedups(r),
  ].filter((c): c is ChartSpec => c !== null);
}
