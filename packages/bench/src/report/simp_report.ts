// The report of `meprop-bench simp`: tables (per cycle, per seed, inference time) and charts (units and
// test accuracy per cycle).
import type { TopLevelSpec } from 'vega-lite';
import type { BenchResult } from '../results/schema';
import type { ChartSpec } from './chart_specs';
import type { Section } from './result_tables';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'n/a');
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

export function simpSections(r: BenchResult): Section[] {
  const s = r.simp;
  if (!s) return [];
  const widths = (u: number[]) => u.map((n) => n.toFixed(0)).join('-');
  const when = (s.simplifyPerEpoch ?? null) === null ? 'once at the end of the cycle' : `${s.simplifyPerEpoch} times per epoch`;
  const which = s.alternate === true ? 'the 1st, 3rd, ... cycles simplify' : 'every cycle but the last simplifies';
  const state = s.resetOptimizer === true ? 'Adam state reset at each cycle' : 'Adam state carried over, cut like the weights';
  return [
    {
      heading: 'meSimp: training in cycles that remove rarely-kept hidden units (MNIST MLP)',
      intro:
        `784-${s.hidden}-${s.hidden}-10, meProp k=${s.k} (${s.mode}), threshold ${s.threshold}, at least ${s.minUnits} units, ` +
        `${s.cycles} cycles of ${s.epochsPerCycle} epoch(s), the last one ${s.lastCycleEpochs}; ${which}, ${when}; ${state}. ` +
        `Mean over ${s.runs.length} seed(s): ${widths(s.mean.units)} units, test accuracy ${pct(s.mean.simplifiedAccuracy)}; ` +
        `plain ${s.hidden}-wide ${pct(s.mean.plainAccuracy)}; plain at the reduced size from scratch ${pct(s.mean.reducedAccuracy)}.`,
      tables: [
        {
          title: 'Per cycle',
          headers: ['seed', 'cycle', 'epochs', 'units', 'meSimp test acc', `plain ${s.hidden} test acc`],
          align: ['r', 'r', 'r', 'l', 'r', 'r'],
          rows: s.runs.flatMap((run) =>
            run.cycles.map((c) => [
              String(run.seed),
              String(c.cycle),
              String(c.epochs),
              widths(c.units),
              pct(c.testAccuracy),
              pct(c.plainAccuracy),
            ]),
          ),
        },
        {
          title: 'Final, per seed',
          headers: ['seed', 'units', 'meSimp', `plain ${s.hidden}`, 'plain, reduced size'],
          align: ['r', 'l', 'r', 'r', 'r'],
          rows: s.runs.map((run) => [
            String(run.seed),
            widths(run.units),
            pct(run.simplifiedAccuracy),
            pct(run.plainAccuracy),
            pct(run.reducedAccuracy),
          ]),
        },
        {
          title: `Inference, predict() (median ms; plain ${s.hidden}-wide vs simplified, seed ${s.runs[0]?.seed ?? '-'}, interleaved in one run)`,
          headers: ['backend', 'batch', 'plain ms', 'simplified ms', 'speed-up'],
          align: ['l', 'r', 'r', 'r', 'r'],
          rows: s.inference.map((i) => [
            i.backend,
            String(i.batch),
            ms(i.originalMs),
            ms(i.simplifiedMs),
            i.speedup === null ? 'n/a' : `${i.speedup.toFixed(2)}x`,
          ]),
        },
      ],
      charts: ['simp-units', 'simp-accuracy'],
    },
  ];
}

function lineChart(name: string, title: string, values: object[], y: { field: string; title: string }, color: string): ChartSpec {
  const spec: TopLevelSpec = {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 240,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epochs', type: 'quantitative', title: 'epochs trained', axis: { tickMinStep: 1 } },
      y: { field: y.field, type: 'quantitative', scale: { zero: false }, title: y.title },
      color: { field: color, type: 'nominal', title: null },
      detail: { field: 'seed', type: 'nominal' },
    },
  };
  return { name, title, spec };
}

export function simpCharts(r: BenchResult): ChartSpec[] {
  const s = r.simp;
  if (!s || s.runs.length === 0) return [];
  // Units after every part of a cycle (several per epoch with simplifyPerEpoch), at fractional epochs.
  const units = s.runs.flatMap((run) => {
    const points = [{ epochs: 0, units: [s.hidden, s.hidden] }];
    let start = 0;
    for (const c of run.cycles) {
      const parts = c.partUnits !== undefined && c.partUnits.length > 0 ? c.partUnits : [c.units];
      parts.forEach((u, p) => points.push({ epochs: start + ((c.epochs - start) * (p + 1)) / parts.length, units: u }));
      start = c.epochs;
    }
    return points.flatMap((c) =>
      c.units.map((u, i) => ({ seed: run.seed, epochs: c.epochs, layer: `hidden${i + 1}`, units: u })),
    );
  });
  const acc = s.runs.flatMap((run) =>
    run.cycles.flatMap((c) => [
      { seed: run.seed, epochs: c.epochs, model: 'meSimp', accuracy: c.testAccuracy * 100 },
      { seed: run.seed, epochs: c.epochs, model: `plain ${s.hidden}`, accuracy: c.plainAccuracy * 100 },
    ]),
  );
  return [
    lineChart(
      'simp-units',
      `meSimp: hidden units per layer (k=${s.k}, threshold ${s.threshold})`,
      units,
      { field: 'units', title: 'units' },
      'layer',
    ),
    lineChart(
      'simp-accuracy',
      'meSimp: test accuracy per cycle',
      acc,
      { field: 'accuracy', title: 'test accuracy (%)' },
      'model',
    ),
  ];
}
