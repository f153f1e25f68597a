// What every experiment command shares: the common options, backend set-up, data loading, the result
// document's header, and writing the report.
import * as path from 'path';
import { loadMnist } from '../data/load_mnist';
import { subsetMnist } from '../data/subset';
import type { MnistData } from '../data/types';
import { collectEnvironment } from '../results/environment';
import {
  SCHEMA_VERSION,
  TOOL_NAME,
  type BackendName,
  type BenchCommand,
  type BenchResult,
  type OptionValue,
} from '../results/schema';
import { writeReport } from '../report/write_report';
import { autoProgress, silentProgress, type Progress } from '../util/progress';
import { filterNodeBanner, nativeOpsSummary, setupBackend, tfjsVersion } from '../util/backend';

export interface CommonOptions {
  backend: BackendName;
  epochs?: number;
  seed: number;
  dataDir?: string;
  out: string;
  quick: boolean;
  batchSize?: number;
  progress: boolean;
}

export interface Prepared {
  progress: Progress;
  data: MnistData | null;
}

/** Activates the backend and loads the data (`quick` keeps the first nTrain / nTest digits). */
export async function prepare(
  opts: CommonOptions,
  needData: { nTrainQuick: number; nTestQuick: number } | null,
): Promise<Prepared> {
  const progress = opts.progress ? autoProgress() : silentProgress();
  // The CLI owns the process: keep tfjs's Node.js banner out of the output for the whole run.
  filterNodeBanner();
  await setupBackend(opts.backend);
  let data: MnistData | null = null;
  if (needData) {
    data = loadMnist(opts.dataDir);
    if (opts.quick) data = subsetMnist(data, needData.nTrainQuick, needData.nTestQuick);
    progress.log(`data: ${data.source}`);
  }
  progress.log(`backend: ${opts.backend}, tfjs ${tfjsVersion()}`);
  const native = nativeOpsSummary();
  if (native !== null) progress.log(`meProp native ops (@meprop/tfjs-node-ops): ${native}`);
  return { progress, data };
}

export function resultHeader(
  command: BenchCommand,
  opts: CommonOptions,
  resolved: { epochs: number; batchSize: number; dataSource: string },
  options: Record<string, OptionValue>,
): BenchResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: TOOL_NAME,
    command,
    config: {
      seed: opts.seed,
      epochs: resolved.epochs,
      batchSize: resolved.batchSize,
      quick: opts.quick,
      dataSource: resolved.dataSource,
      options: { ...options, dataDir: opts.dataDir ?? null },
    },
    environment: collectEnvironment(opts.backend, tfjsVersion()),
  };
}

/** Writes JSON, Markdown, HTML and SVGs; prints where they are. */
export async function finish(result: BenchResult, opts: CommonOptions, log: (line: string) => void): Promise<void> {
  const written = await writeReport(result, opts.out);
  log(`wrote ${path.relative(process.cwd(), written.json) || written.json}`);
  log(`wrote ${path.relative(process.cwd(), written.markdown)}, ${path.relative(process.cwd(), written.html)}`);
  for (const svg of written.svgs) log(`wrote ${path.relative(process.cwd(), svg)}`);
}
