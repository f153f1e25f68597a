// The `model` command's figures as report sections: what mePropify did per layer, and the training-step
// timings per optimizer.
import type { BenchResult } from '../results/schema';
import type { Section } from './result_tables';

const ms = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(2));
const x = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(2)}x`);
const pct = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : `${(v * 100).toFixed(1)}%`);

export function modelSections(r: BenchResult): Section[] {
  const m = r.model;
  if (!m) return [];
  const shapes = (s: (number | null)[][]): string =>
    s.map((d) => `[${d.map((v) => (v === null ? 'batch' : String(v))).join(', ')}]`).join(' ');
  return [
    {
      heading: r.command === 'train-step' ? `Training step: ${m.source}` : `Your model: ${m.name} (${m.source})`,
      intro:
        `Inputs ${shapes(m.inputShapes)}, outputs ${shapes(m.outputShapes)}, ${m.parameters} trainable parameters, loss ${m.loss}, data: ${m.data}. ` +
        `Forward pass plain vs meProp: max relative difference ${m.forwardMaxAbsDiff.toExponential(2)} (tolerance ${m.forwardTolerance}). ` +
        (m.measuredKeptFraction === null
          ? ''
          : `Kept entries of dy over one meProp step, counted by @meprop/core: ${pct(m.measuredKeptFraction)}. `) +
        (m.passed ? 'All checks passed.' : `FAILED: ${m.failures.join('; ')}.`),
      tables: [
        {
          title: 'Layers',
          headers: ['layer', 'class', 'meProp', 'k', 'of width', 'kept', 'mode', 'why exact'],
          align: ['l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'],
          rows: m.layers.map((l) => [
            l.name,
            l.className,
            l.converted ? 'yes' : 'no',
            l.k === null ? '' : String(l.k),
            l.width === null ? '' : String(l.width),
            pct(l.keptFraction),
            l.mode ?? '',
            l.reason ?? '',
          ]),
        },
        {
          title: 'Training step (model.trainOnBatch), median ms, variants interleaved',
          headers: [
            'optimizer',
            'lr',
            'plain ms',
            'meProp + tf.train ms',
            'meProp + sparse ms',
            'speed-up (sparse)',
            'speed-up (tf.train)',
            'steps',
            'not timed',
          ],
          align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
          rows: m.optimizers.map((o) => [
            o.optimizer,
            String(o.learningRate),
            ms(o.plainMs),
            ms(o.mePropMs),
            ms(o.mePropSparseMs),
            x(o.speedup),
            x(o.speedupDenseOptimizer),
            String(o.steps),
            o.skipped ?? '',
          ]),
        },
      ],
      charts: ['model-speedups'],
    },
  ];
}
