// `conv-kernels`: the backward of one conv layer alone, for a fixed dy: plain tfjs (Conv2DBackpropInput and
// Conv2DBackpropFilter, as tfjs's Conv2D gradient runs them) against meProp's conv backward (@meprop/core
// mePropConv2dGradThunks) in unified, per-example (per position, the paper's) and random modes. Repetitions
// are interleaved (plain, unified, ..., plain, ...), medians reported. cpu, wasm and tensorflow run kernels
// synchronously, so by default nothing is read back (a training step does not read gradients either);
// --read-back adds a read of dx and dW to every candidate.
import * as tf from '@tensorflow/tfjs';
import { exactConv2dGrads, mePropConv2dGradThunks, Rng, validateMePropConfig } from '@meprop/core';
import type { ConvAttrs, ConvGradThunks, MePropMode, MePropRuntime } from '@meprop/core';
import { median } from '../util/stats';
import { settle, timeInterleavedWithCpu } from '../util/timing';

/** batch × height × width × in-channels → out-channels, square filter, k kept channels. */
export interface ConvKernelShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  filter: number;
  k: number;
}

/** Issue 13's layer: batch 32, 28×28, 32 → 64 channels, 3×3, k = 8. */
export const DEFAULT_CONV_SHAPE: ConvKernelShape = {
  batch: 32,
  height: 28,
  width: 28,
  inChannels: 32,
  outChannels: 64,
  filter: 3,
  k: 8,
};

export interface ConvKernelOptions {
  shape: ConvKernelShape;
  modes: MePropMode[];
  pad: 'valid' | 'same';
  warmup: number;
  reps: number;
  seed: number;
  readBack: boolean;
}

export interface ConvKernelFigure {
  /** 'plain' or the meProp mode. */
  method: 'plain' | MePropMode;
  /** Median ms of dx + dW. */
  ms: number;
  /** plain's ms / this ms, from the same interleaved run. */
  speedup: number;
  /** Median process CPU ms (user + system, all threads) of dx + dW: steadier than wall-clock under load. */
  cpuMs: number;
  /** plain's cpuMs / this cpuMs. */
  cpuSpeedup: number;
}

export function convShapeLabel(s: ConvKernelShape): string {
  return `${s.batch}x${s.height}x${s.width}x${s.inChannels}->${s.outChannels} ${s.filter}x${s.filter} k=${s.k}`;
}

/** Parses `BxHxWxCIxCO` (e.g. 32x28x28x32x64), naming the option in the error. */
export function parseConvShape(text: string): Pick<ConvKernelShape, 'batch' | 'height' | 'width' | 'inChannels' | 'outChannels'> {
  const parts = text.split('x').map(Number);
  if (parts.length !== 5 || parts.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`--shape must be BxHxWxCIxCO with positive integers (e.g. 32x28x28x32x64), got '${text}'`);
  }
  const [batch, height, width, inChannels, outChannels] = parts;
  return { batch, height, width, inChannels, outChannels };
}

function normal(shape: number[], std: number, rng: Rng): tf.Tensor {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  // Sum of uniforms: roughly normal, every |value| distinct with probability one (top-k has no ties).
  for (let i = 0; i < v.length; i++) v[i] = (rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 1.5) * std;
  return tf.tensor(v, shape);
}

export async function runConvKernelBench(opts: ConvKernelOptions): Promise<ConvKernelFigure[]> {
  const { shape: s } = opts;
  if (s.k > s.outChannels) throw new Error(`--k ${s.k} exceeds the ${s.outChannels} output channels of --shape`);
  const rng = new Rng(opts.seed);
  const attrs: ConvAttrs = { strides: 1, pad: opts.pad };
  const x = normal([s.batch, s.height, s.width, s.inChannels], 1, rng);
  const w = normal([s.filter, s.filter, s.inChannels, s.outChannels], 0.05, rng);
  const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, opts.pad);
  const dy = normal(y.shape, 1, rng);
  y.dispose();
  const run = async (grads: () => ConvGradThunks): Promise<void> => {
    const out = tf.tidy(() => {
      const g = grads();
      return [g.x(), g.filter()];
    });
    if (opts.readBack) await settle(out);
    tf.dispose(out);
  };
  const runtimes = opts.modes.map((mode): MePropRuntime => ({
    config: validateMePropConfig({ k: s.k, mode, seed: opts.seed }),
    rng: new Rng(opts.seed),
  }));
  try {
    const fns = [
      () => run(() => exactConv2dGrads(dy, x, w, attrs)),
      ...runtimes.map((rt) => () => run(() => mePropConv2dGradThunks(dy, x, w, attrs, rt))),
    ];
    const samples = await timeInterleavedWithCpu(fns, { warmup: opts.warmup, reps: opts.reps });
    const ms = samples.map((t) => median(t.wall));
    const cpu = samples.map((t) => median(t.cpu));
    return [
      { method: 'plain', ms: ms[0], speedup: 1, cpuMs: cpu[0], cpuSpeedup: 1 },
      ...opts.modes.map((mode, i) => ({
        method: mode,
        ms: ms[i + 1],
        speedup: ms[0] / ms[i + 1],
        cpuMs: cpu[i + 1],
        cpuSpeedup: cpu[0] / cpu[i + 1],
      })),
    ];
  } finally {
    tf.dispose([x, w, dy]);
  }
}
