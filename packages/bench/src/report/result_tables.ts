// The figures of a result document as tables (shared by the Markdown and the HTML report).
import type { BenchResult } from '../results/schema';
import { formatNumber, type Table } from './table';
import { simpSections } from './simp_report';
import { modelSections } from './model_tables';
import { whereSections } from './where_tables';

const pct = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'n/a' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const x = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(2)}x`);
const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'n/a' : formatNumber(v));

export interface Section {
  heading: string;
  /** A sentence above the tables. */
  intro?: string;
  tables: Table[];
  /** Chart names (chart_specs) shown in this section. */
  charts: string[];
}

export function environmentTable(r: BenchResult): Table {
  const e = r.environment;
  const c = r.config;
  const opts = Object.entries(c.options).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return {
    title: 'Run',
    headers: ['field', 'value'],
    rows: [
      ['command', r.command],
      ['backend', e.backend],
      ['tfjs', e.tfjsVersion],
      ['node', e.nodeVersion],
      ['cpu', `${e.cpuModel} (${e.cpuCount} logical)`],
      ['platform', `${e.platform} ${e.arch}`],
      ['date', e.date],
      ['seed', String(c.seed)],
      ['epochs', String(c.epochs)],
      ['batch size', String(c.batchSize)],
      ['quick', String(c.quick)],
      ['data', c.dataSource],
      ['options', opts.join(' ') || '-'],
      ['schema version', String(r.schemaVersion)],
    ],
  };
}

export function resultSections(r: BenchResult): Section[] {
  const sections: Section[] = [];
  if (r.mnist) {
    const mn = r.mnist;
    const multiSeed = mn.runs.some((run) => (run.seedAccuracies?.length ?? 0) > 1);
    const plainAcc = (opt: string): number | null =>
      mn.runs.find((x) => x.optimizer === opt && x.method === 'plain')?.testAccuracy ?? null;
    const points = (run: (typeof mn.runs)[number]): string => {
      const p = plainAcc(run.optimizer);
      if (run.method === 'plain' || p === null) return '';
      const d = (run.testAccuracy - p) * 100;
      return `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
    };
    const setup =
      mn.protocol === 'paper'
        ? "paper protocol: the paper's init, dropout 0.1 after each hidden layer"
        : mn.protocol === 'quick'
          ? 'quick protocol: Glorot init, no dropout'
          : '';
    sections.push({
      heading: `MNIST MLP 784-${mn.hidden.join('-')}-10 (paper Tables 1-2)${setup ? `, ${setup}` : ''}`,
      intro:
        (multiSeed
          ? `Test accuracy: the mean over ${mn.seeds} seeds (each seed: same initial weights, batches and dropout masks for every method); Δ = points against plain tfjs. `
          : '') +
        'Per-step medians in milliseconds, all from the same training step: forward = the loss function inside tf.variableGrads, ' +
        'backward = the rest of tf.variableGrads (the backward of the linear maps dominates it), update = optimizer.applyGradients; ' +
        'train = the whole training loop (evaluation excluded). Speed-ups are plain tfjs / meProp, same run, same optimizer.',
      tables: [
        {
          headers: [
            'optimizer',
            'method',
            'k',
            'lr',
            'test acc',
            'Δ points',
            ...(multiSeed ? ['per seed'] : []),
            'fwd ms',
            'bwd ms',
            'update ms',
            'step ms',
            'train s',
            'bwd x',
            'update x',
            'step x',
            'train x',
          ],
          align: [
            'l',
            'l',
            'r',
            'r',
            'r',
            'r',
            ...(multiSeed ? ['r' as const] : []),
            'r',
            'r',
            'r',
            'r',
            'r',
            'r',
            'r',
            'r',
            'r',
          ],
          rows: mn.runs.map((run) => [
            run.optimizer,
            run.method,
            run.k === null ? '-' : String(run.k),
            String(run.learningRate),
            pct(run.testAccuracy),
            points(run),
            ...(multiSeed ? [(run.seedAccuracies ?? [run.testAccuracy]).map((a) => (a * 100).toFixed(2)).join(' / ')] : []),
            ms(run.timing.forwardMs),
            ms(run.timing.backwardMs),
            ms(run.timing.updateMs),
            ms(run.timing.stepMs),
            run.timing.trainSeconds.toFixed(1),
            x(run.speedup?.backward ?? null),
            x(run.speedup?.update ?? null),
            x(run.speedup?.step ?? null),
            x(run.speedup?.train ?? null),
          ]),
        },
      ],
      charts: ['training-speedups'],
    });
  }
  if (r.kSweep) {
    const ks = r.kSweep;
    const fractions = [...new Set(ks.points.map((p) => p.k))].sort((a, b) => a - b);
    sections.push({
      heading: 'Accuracy against k/h (paper Figure 4)',
      intro: `Plain tfjs (all ${ks.hidden} gradients kept): ${pct(ks.baselineAccuracy)}.`,
      tables: [
        {
          headers: ['k', 'k/h', 'top-k acc', 'random-k acc'],
          align: ['r', 'r', 'r', 'r'],
          rows: fractions.map((k) => {
            const top = ks.points.find((p) => p.k === k && p.selection === 'top-k');
            const rnd = ks.points.find((p) => p.k === k && p.selection === 'random-k');
            return [
              String(k),
              `${((k / ks.hidden) * 100).toFixed(1)}%`,
              pct(top?.testAccuracy ?? null),
              pct(rnd?.testAccuracy ?? null),
            ];
          }),
        },
      ],
      charts: ['accuracy-vs-k'],
    });
  }
  if (r.kernels) {
    sections.push({
      heading: 'Backward kernels (one linear map)',
      intro: `Method: ${r.kernels.method}.`,
      tables: [
        {
          headers: [
            'group',
            'batch x in x out',
            'k',
            'mode',
            'timed',
            'plain ms',
            'meProp ms',
            'speed-up',
            'ideal out/k',
            'of ideal',
          ],
          align: ['l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
          rows: r.kernels.cases.map((c) => [
            c.group,
            `${c.batch}x${c.inDim}x${c.outDim}`,
            String(c.k),
            c.mode,
            c.path ?? 'backward',
            ms(c.plainMs),
            ms(c.mePropMs),
            x(c.speedup),
            x(c.idealSpeedup),
            c.speedup === null ? 'n/a' : `${((c.speedup / c.idealSpeedup) * 100).toFixed(0)}%`,
          ]),
        },
      ],
      charts: ['kernel-speedups'],
    });
  }
  if (r.iaf) {
    sections.push({
      heading: 'VAE with IAF posteriors (binarized MNIST)',
      intro: 'Higher is better for the ELBO and the importance-weighted log-likelihood (nats).',
      tables: [
        {
          headers: ['posterior', 'test ELBO', 'test IW log-lik', 'IW samples', 's / epoch'],
          align: ['l', 'r', 'r', 'r', 'r'],
          rows: r.iaf.runs.map((run) => [
            run.posterior,
            num(run.testElbo),
            num(run.testIwLogLik),
            String(run.iwSamples),
            num(run.secondsPerEpoch),
          ]),
        },
      ],
      charts: ['elbo-curves'],
    });
  }
  if (r.ci) {
    sections.push({
      heading: `CI checks: ${r.ci.passed ? 'PASSED' : 'FAILED'}`,
      intro: `Thresholds: ${r.ci.thresholdsFile}.`,
      tables: [
        {
          title: 'Checks',
          headers: ['figure', 'measured', 'bound', 'result'],
          align: ['l', 'r', 'r', 'l'],
          rows: r.ci.checks.map((c) => [
            c.figure,
            num(c.value),
            `${c.comparison === 'min' ? '>=' : '<='} ${c.threshold}`,
            c.pass ? 'pass' : 'FAIL',
          ]),
        },
        {
          title: 'All figures',
          headers: ['figure', 'value', 'unit', 'better'],
          align: ['l', 'r', 'l', 'l'],
          rows: r.ci.figures.map((f) => [f.name, num(f.value), f.unit, f.better]),
        },
      ],
      charts: ['ci-checks'],
    });
  }
  sections.push(...simpSections(r));
  sections.push(...modelSections(r));
  sections.push(...whereSections(r));
  return sections;
}
