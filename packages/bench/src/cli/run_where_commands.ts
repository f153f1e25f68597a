// The actions of `first-layer`, `scope`, `vae-exclude` and `simp-lstm` (formerly scripts in packages/layers/bench).
// Loaded lazily by cli.ts, like run_commands.ts.
import type { MePropMode } from '@meprop/core';
import { subsetMnist } from '../data/subset';
import { runFirstLayer, runScope, type ScopeModelName } from '../experiments/scope_timing';
import { runSimpLstm } from '../experiments/simp_lstm';
import { runVaeExclude, type VaeVariant } from '../experiments/vae_exclude';
import { resultSections } from '../report/result_tables';
import { tableToText } from '../report/table';
import type { BenchResult } from '../results/schema';
import { finish, prepare, resultHeader, type CommonOptions } from './common';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function report(result: BenchResult, o: CommonOptions): Promise<number> {
  for (const s of resultSections(result)) {
    out(`\n${s.heading}`);
    if (s.intro) out(s.intro);
    for (const t of s.tables) out(tableToText(t));
  }
  out('');
  await finish(result, o, out);
  return 0;
}

export interface FirstLayerCommandOptions extends CommonOptions {
  shape: { batch: number; inDim: number; outDim: number };
  k: number;
  mode: MePropMode;
  density: number;
  reps: number;
  warmup: number;
}

export async function firstLayerCommand(o: FirstLayerCommandOptions): Promise<number> {
  if (o.k > o.shape.outDim) throw new Error(`first-layer: --k ${o.k} exceeds N = ${o.shape.outDim} of --shape`);
  await prepare({ ...o, quick: false }, null);
  const result = resultHeader(
    'first-layer',
    { ...o, quick: false },
    { epochs: 0, batchSize: o.shape.batch, dataSource: 'synthetic tensors' },
    {
      shape: `${o.shape.batch}x${o.shape.inDim}x${o.shape.outDim}`,
      k: o.k,
      mode: o.mode,
      density: o.density,
      reps: o.reps,
      warmup: o.warmup,
    },
  );
  result.variantTimings = await runFirstLayer({ ...o.shape, ...o });
  return report(result, o);
}

export interface ScopeCommandOptions extends CommonOptions {
  models: ScopeModelName[];
  steps: number;
  warmup: number;
}

export async function scopeCommand(o: ScopeCommandOptions): Promise<number> {
  const { progress } = await prepare({ ...o, quick: false }, null);
  const result = resultHeader(
    'scope',
    { ...o, quick: false },
    { epochs: 0, batchSize: 0, dataSource: 'synthetic tensors' },
    { models: o.models, steps: o.steps, warmup: o.warmup },
  );
  result.variantTimings = await runScope({ models: o.models, reps: o.steps, warmup: o.warmup, seed: o.seed, progress });
  return report(result, o);
}

export interface VaeExcludeCommandOptions extends CommonOptions {
  k: number;
  mode: MePropMode;
  variants: VaeVariant[];
  hidden: number;
  latent: number;
  lr: number;
  trainSize: number;
  testSize: number;
}

export async function vaeExcludeCommand(o: VaeExcludeCommandOptions): Promise<number> {
  const prepared = await prepare({ ...o, quick: false }, { nTrainQuick: 0, nTestQuick: 0 });
  const all = prepared.data!;
  const data = subsetMnist(all, Math.min(o.trainSize, all.train.n), Math.min(o.testSize, all.test.n));
  const epochs = o.epochs ?? 5;
  const batchSize = o.batchSize ?? 128;
  const result = resultHeader(
    'vae-exclude',
    { ...o, quick: false },
    { epochs, batchSize, dataSource: data.source },
    {
      k: o.k,
      mode: o.mode,
      variants: o.variants,
      hidden: o.hidden,
      latent: o.latent,
      lr: o.lr,
      trainSize: data.train.n,
      testSize: data.test.n,
    },
  );
  result.vaeExclude = await runVaeExclude(data, {
    epochs,
    batchSize,
    k: o.k,
    mode: o.mode,
    hidden: o.hidden,
    latent: o.latent,
    lr: o.lr,
    seed: o.seed,
    variants: o.variants,
    progress: prepared.progress,
  });
  return report(result, o);
}

export interface SimpLstmCommandOptions extends CommonOptions {
  units: number;
  k: number;
  threshold: number;
  minUnits: number;
  cycles: number;
  trainSize: number;
  testSize: number;
  steps: number;
  vocab: number;
  classes: number;
  seeds: number;
  lr: number;
}

export async function simpLstmCommand(o: SimpLstmCommandOptions): Promise<number> {
  if (o.vocab <= o.classes) throw new Error(`simp-lstm: --vocab (${o.vocab}) must exceed --classes (${o.classes})`);
  if (o.k > 4 * o.units) throw new Error(`simp-lstm: --k ${o.k} exceeds the ${4 * o.units} gate entries of --units ${o.units}`);
  const { progress } = await prepare({ ...o, quick: false }, null);
  const epochs = o.epochs ?? 4;
  const batchSize = o.batchSize ?? 32;
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  const result = resultHeader(
    'simp-lstm',
    { ...o, quick: false },
    { epochs, batchSize, dataSource: 'synthetic keyword sequences' },
    {
      units: o.units,
      k: o.k,
      threshold: o.threshold,
      minUnits: o.minUnits,
      cycles: o.cycles,
      trainSize: o.trainSize,
      testSize: o.testSize,
      steps: o.steps,
      vocab: o.vocab,
      classes: o.classes,
      seeds,
      lr: o.lr,
    },
  );
  result.simpLstm = await runSimpLstm({ ...o, epochs, batchSize, seeds, progress });
  return report(result, o);
}
