// Report sections of `first-layer`, `scope`, `vae-exclude` and `simp-lstm`.
import type { BenchResult } from '../results/schema';
import type { Section } from './result_tables';

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const x = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : `${v.toFixed(2)}x`);
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'n/a');

const HEADINGS: Partial<Record<BenchResult['command'], string>> = {
  'first-layer': "A model's first layer: plain tfjs, withMeProp, mePropMatMul and mePropDense",
  scope: 'Converted models (mePropify) against withMeProp and plain tfjs',
};

export function whereSections(r: BenchResult): Section[] {
  const sections: Section[] = [];
  if (r.variantTimings) {
    const t = r.variantTimings;
    const checked = t.reference !== undefined;
    sections.push({
      heading: HEADINGS[r.command] ?? 'Variants',
      intro:
        `One timed call: ${t.what}. Medians of ${t.rows[0]?.reps ?? 0} calls per variant, the variants of a case interleaved; ` +
        'speed-up = the first variant of the case / this one. Process CPU time is the steadier figure on a shared machine.' +
        (checked ? ` max |Δ|: largest difference of the variant's result from ${t.reference}'s.` : ''),
      tables: [
        {
          headers: ['case', 'variant', 'wall ms', 'wall x', 'cpu ms', 'cpu x', ...(checked ? ['max |Δ|'] : [])],
          align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
          rows: t.rows.map((row) => [
            row.description,
            row.variant,
            ms(row.wallMs),
            x(row.wallSpeedup),
            ms(row.cpuMs),
            x(row.cpuSpeedup),
            ...(checked
              ? [row.maxAbsDiff === undefined || row.maxAbsDiff === null ? 'n/a' : row.maxAbsDiff.toExponential(1)]
              : []),
          ]),
        },
      ],
      charts: [],
    });
  }
  if (r.vaeExclude) {
    const v = r.vaeExclude;
    sections.push({
      heading: `VAE 784-${v.hidden}-(${v.latent}+${v.latent}) / ${v.latent}-${v.hidden}-784 under withMeProp, with and without its output layer`,
      intro:
        'Test loss: the mean negative ELBO of the test digits (nats, lower is better), after the last epoch and after each. ' +
        'Step time: median process CPU time of one training step; speed-up against plain tfjs.',
      tables: [
        {
          headers: ['variant', 'test loss', 'per epoch', 'step cpu ms', 'step x', 'train s'],
          align: ['l', 'r', 'l', 'r', 'r', 'r'],
          rows: v.rows.map((row) => [
            row.description,
            row.testLoss.toFixed(1),
            row.testLossCurve.map((l) => l.toFixed(1)).join(', '),
            ms(row.stepCpuMs),
            x(row.stepCpuSpeedup),
            row.trainSeconds.toFixed(1),
          ]),
        },
      ],
      charts: [],
    });
  }
  if (r.simpLstm) {
    const s = r.simpLstm;
    sections.push({
      heading: 'meSimp on an LSTM text classifier',
      intro:
        `${s.task}. meSimp: k=${s.k}, threshold ${s.threshold}, ${s.cycles} cycles of ${s.epochsPerCycle} epochs (the last one fine-tunes); ` +
        'the plain models train as many epochs. Test accuracy.',
      tables: [
        {
          headers: ['seed', 'plain LSTM', 'meSimp units', 'meSimp acc', 'per cycle', 'plain at the reduced size'],
          align: ['r', 'l', 'l', 'r', 'l', 'r'],
          rows: s.runs.map((run) => [
            String(run.seed),
            `${run.plainUnits} units: ${pct(run.plainAccuracy)}`,
            `${run.plainUnits} -> ${run.simplifiedUnits}`,
            pct(run.simplifiedAccuracy),
            run.cycleUnits.map((u, i) => `${u} units ${pct(run.cycleAccuracies[i])}`).join(', '),
            pct(run.reducedAccuracy),
          ]),
        },
      ],
      charts: [],
    });
  }
  return sections;
}
