// `meprop-bench conv-kernels`: prints the conv backward figures (experiments/conv_kernels.ts) and writes
// <out>/conv-kernels-<backend>.json with the load average of the run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MePropMode } from '@meprop/core';
import { prepare, type CommonOptions } from './common';
import { convShapeLabel, DEFAULT_CONV_SHAPE, parseConvShape, runConvKernelBench } from '../experiments/conv_kernels';

export interface ConvKernelsCommandOptions extends CommonOptions {
  shape?: string;
  filter: number;
  k: number;
  pad: 'valid' | 'same';
  modes: MePropMode[];
  reps: number;
  warmup: number;
  readBack: boolean;
}

export async function convKernelsCommand(o: ConvKernelsCommandOptions): Promise<number> {
  const shape = { ...DEFAULT_CONV_SHAPE, ...(o.shape ? parseConvShape(o.shape) : {}), filter: o.filter, k: o.k };
  const { progress } = await prepare(o, null);
  progress.log(`conv-kernels: ${convShapeLabel(shape)}, pad ${o.pad}, ${o.reps} reps${o.readBack ? ', read back' : ''}`);
  const loadBefore = os.loadavg();
  const figures = await runConvKernelBench({
    shape,
    modes: o.modes,
    pad: o.pad,
    warmup: o.warmup,
    reps: o.reps,
    seed: o.seed,
    readBack: o.readBack,
  });
  const loadavg = os.loadavg();
  process.stdout.write(
    `backend ${o.backend}, ${convShapeLabel(shape)} (median wall-clock and process CPU ms of dx + dW, interleaved)\n`,
  );
  for (const f of figures) {
    process.stdout.write(
      `${f.method.padEnd(12)} ${f.ms.toFixed(2).padStart(10)} ms ${f.speedup.toFixed(2).padStart(7)}x   ` +
        `cpu ${f.cpuMs.toFixed(2).padStart(10)} ms ${f.cpuSpeedup.toFixed(2).padStart(7)}x\n`,
    );
  }
  process.stdout.write(
    `ideal CO/k: ${(shape.outChannels / shape.k).toFixed(1)}x; load average ${loadavg.map((v) => v.toFixed(2)).join(' ')}\n`,
  );
  fs.mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `conv-kernels-${o.backend}.json`);
  const doc = {
    command: 'conv-kernels',
    config: {
      backend: o.backend,
      seed: o.seed,
      shape,
      pad: o.pad,
      modes: o.modes,
      reps: o.reps,
      warmup: o.warmup,
      readBack: o.readBack,
    },
    environment: { node: process.version, loadavgBefore: loadBefore, loadavg },
    figures,
  };
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
  return 0;
}
