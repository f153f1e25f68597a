// Honest wall-clock timing: warm-up runs that are thrown away, several measured repetitions, medians.
// The timed function must force its work to finish (settle()) before it returns: tfjs backends may run
// kernels asynchronously, and a time taken before the data exists measures nothing.
import * as tf from '@tensorflow/tfjs';
import { isNativeTensorflowBackend, withNativeScope } from '@meprop/core';
import { performance } from 'perf_hooks';
import { median } from './stats';

export interface RepeatOptions {
  warmup: number;
  reps: number;
}

/** Milliseconds of one call, after awaiting it. */
export async function timeOnce(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Times several functions in interleaved rounds (a, b, c, a, b, c, ...) so that a change of machine load hits
 * all of them alike; returns every sample per function. Ratios between them are then ratios from one run.
 */
export async function timeInterleaved(fns: readonly (() => Promise<void>)[], opts: RepeatOptions): Promise<number[][]> {
  for (let i = 0; i < opts.warmup; i++) {
    for (const fn of fns) await fn();
  }
  const samples = fns.map(() => [] as number[]);
  for (let r = 0; r < opts.reps; r++) {
    for (let j = 0; j < fns.length; j++) samples[j].push(await timeOnce(fns[j]));
  }
  return samples;
}

/** Median milliseconds of `fn` over `reps` runs after `warmup` discarded runs. */
export async function medianMs(fn: () => Promise<void>, opts: RepeatOptions): Promise<number> {
  const [samples] = await timeInterleaved([fn], opts);
  return median(samples);
}

/**
 * Waits until every tensor's values exist, which forces all pending kernels to finish. On most backends it
 * downloads them. On tfjs-node (`tensorflow`) it reads one entry of each tensor instead, through a native
 * one-element Slice: tfjs-node runs TensorFlow eagerly and synchronously (its context has the default,
 * synchronous options), so a tensor's values exist once the op that made it has returned, and the read only
 * proves it. Downloading the whole tensor there would add a copy into JavaScript of every output (4 MB for
 * a 1024x1024 weight gradient, about as long as the backward itself) to both sides of a comparison, and the
 * figure would measure that copy rather than the work. Applied alike to plain tfjs and meProp.
 */
export async function settle(tensors: readonly tf.Tensor[]): Promise<void> {
  const backend = tf.backend();
  if (tf.getBackend() === 'tensorflow' && isNativeTensorflowBackend(backend)) {
    readOneEntryEach(backend, tensors);
    return;
  }
  await Promise.all(tensors.map((t) => t.data()));
}

function readOneEntryEach(backend: unknown, tensors: readonly tf.Tensor[]): void {
  withNativeScope(backend, (s) => {
    for (const t of tensors) {
      if (t.size === 0) continue;
      const begin = s.constInt32([t.rank], new Array<number>(t.rank).fill(0));
      const size = s.constInt32([t.rank], new Array<number>(t.rank).fill(1));
      const one = s.op1('Slice', [s.type('T', t.dtype), s.type('Index', 'int32')], [s.input(t), begin, size]);
      s.binding.tensorDataSync(one.id);
    }
  });
}

/** Wall-clock and process CPU (user + system) milliseconds of each call of one function. */
export interface WallAndCpuSamples {
  wall: number[];
  cpu: number[];
}

/**
 * timeInterleaved that also records each call's process CPU time: on a machine shared with other jobs, the
 * CPU time a call used is steadier than its wall-clock time (which includes the time it waited for a core).
 */
export async function timeInterleavedWithCpu(
  fns: readonly (() => Promise<void>)[],
  opts: RepeatOptions,
): Promise<WallAndCpuSamples[]> {
  for (let i = 0; i < opts.warmup; i++) {
    for (const fn of fns) await fn();
  }
  const samples = fns.map((): WallAndCpuSamples => ({ wall: [], cpu: [] }));
  for (let r = 0; r < opts.reps; r++) {
    for (let j = 0; j < fns.length; j++) {
      const c0 = process.cpuUsage();
      samples[j].wall.push(await timeOnce(fns[j]));
      const c = process.cpuUsage(c0);
      samples[j].cpu.push((c.user + c.system) / 1000);
    }
  }
  return samples;
}
