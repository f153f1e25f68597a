import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';
import {
  MePropConvSelectChannels,
  MePropConvSelectChannelsAct,
  MePropConvSelectPositions,
  MePropConvSelectPositionsAct,
  MePropConvUnifiedBackward,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  mePropConv2d,
  mePropConv2dGradThunks,
  mePropDepthwiseConv2d,
  Rng,
  validateMePropConfig,
} from '@meprop/core';
import type { MePropSparseConvGradAttrs } from '@meprop/core';

import { loadNativeOps } from './index';
import { runThreadBitsChild } from './test-helpers/thread_bits';

// The native conv ops exist only for tfjs-node: this suite runs when MEPROP_TEST_BACKENDS includes tensorflow.
// References are never the code under test: plain tfjs's conv gradients (on dy with the dropped channels
// zeroed), or JavaScript loops where tfjs has no gradient (dilations > 1).
const run = testBackends().includes('tensorflow') ? describe : describe.skip;

/** Deterministic values in about [-1, 1], all |values| distinct with probability one. */
function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/** The k channels of the largest Σ|dy| (NaN first, ties to the lower channel), ascending: brute force. */
function topChannels(dy: Float32Array, CO: number, k: number): number[] {
  const score = new Float64Array(CO);
  for (let i = 0; i < dy.length; i++) score[i % CO] += Math.abs(dy[i]);
  const order = Array.from({ length: CO }, (_, c) => c).sort((a, b) => {
    const na = Number.isNaN(score[a]);
    const nb = Number.isNaN(score[b]);
    if (na !== nb) return na ? -1 : 1;
    if (!na && score[a] !== score[b]) return score[b] - score[a];
    return a - b;
  });
  return order.slice(0, k).sort((a, b) => a - b);
}

/** dy with all but the k largest |values| of every position (row of channels) zeroed: brute force. */
function rowTopK(dy: tf.Tensor, k: number): tf.Tensor {
  const CO = dy.shape[dy.rank - 1];
  const v = dy.dataSync();
  const out = new Float32Array(v.length);
  for (let r = 0; r < v.length / CO; r++) {
    const order = Array.from({ length: CO }, (_, c) => c).sort((a, b) => {
      const d = Math.abs(v[r * CO + b]) - Math.abs(v[r * CO + a]);
      return d !== 0 ? d : a - b;
    });
    for (const c of order.slice(0, k)) out[r * CO + c] = v[r * CO + c];
  }
  return tf.tensor(out, dy.shape);
}

/** dy with every channel outside `keep` zeroed. */
function masked(dy: tf.Tensor, keep: number[]): tf.Tensor {
  const CO = dy.shape[dy.rank - 1];
  const m = new Float32Array(CO);
  for (const c of keep) m[c] = 1;
  return tf.mul(dy, tf.tensor1d(m));
}

interface Case {
  name: string;
  x: number[];
  filter: number[];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  /** Kept channels below CO (default a third of them). */
  k?: number;
}

const CASES: Case[] = [
  {
    name: '32 -> 16 channels, 3x3, valid (two vectors of input channels)',
    x: [2, 7, 7, 32],
    filter: [3, 3, 32, 16],
    strides: 1,
    pad: 'valid',
  },
  {
    name: '20 input channels (padded vectors), same, stride 2',
    x: [2, 9, 8, 20],
    filter: [3, 3, 20, 12],
    strides: 2,
    pad: 'same',
  },
  { name: '3 input channels (scalar loops), explicit pad 1', x: [3, 6, 5, 3], filter: [3, 3, 3, 10], strides: 1, pad: 1 },
  {
    name: '48 input channels, 11 kept (vector tails, two channel blocks)',
    x: [1, 6, 6, 48],
    filter: [2, 2, 48, 13],
    strides: 1,
    pad: 'same',
  },
  {
    name: '2 input channels, 6 kept, strides [1, 2] (scalar loops, strided rows)',
    x: [2, 8, 9, 2],
    filter: [3, 2, 2, 18],
    strides: [1, 2],
    pad: 'same',
  },
  {
    name: '1 input channel, 4 of 32 kept, 26 columns (masked tails)',
    x: [3, 28, 28, 1],
    filter: [3, 3, 1, 32],
    strides: 1,
    pad: 'valid',
  },
  { name: '5x3 filter, strides [2, 1], valid', x: [2, 11, 7, 16], filter: [5, 3, 16, 9], strides: [2, 1], pad: 'valid' },
  { name: '1x1 filter, stride 3, same', x: [2, 7, 7, 24], filter: [1, 1, 24, 6], strides: 3, pad: 'same' },
  // Big enough (over 8 M multiply-adds at the k tested; not the k = 1 ones) for the products to run on the
  // pool's threads when the machine has several cores.
  {
    name: "issue 13's layer at batch 24 (threaded; dx in gather form, 2.4 MB: streaming stores)",
    x: [24, 28, 28, 32],
    filter: [3, 3, 32, 64],
    strides: 1,
    pad: 'valid',
  },
  { name: '20 input channels, same, threaded', x: [12, 24, 24, 20], filter: [3, 3, 20, 40], strides: 1, pad: 'same' },
  { name: 'batch 1, 40x40, same, k = 1', x: [1, 40, 40, 48], filter: [3, 3, 48, 32], strides: 1, pad: 'same', k: 1 },
  { name: 'stride 2, same, threaded', x: [12, 28, 28, 32], filter: [3, 3, 32, 64], strides: 2, pad: 'same' },
  { name: '24 input channels, k = 1', x: [8, 20, 20, 24], filter: [3, 3, 24, 16], strides: 1, pad: 'valid', k: 1 },
];

function convAttrs(c: Case): MePropSparseConvGradAttrs {
  return { inputShape: c.x, filterShape: c.filter, strides: c.strides, dilations: 1, pad: c.pad, dimRoundingMode: '' };
}

/** conv2d(x, w) under `c` (tfjs-node's conv2d takes 'valid' and 'same' only: explicit pads go through tf.pad). */
function conv(x: tf.Tensor, w: tf.Tensor, c: Case): tf.Tensor {
  if (typeof c.pad === 'number') {
    const p = c.pad;
    const padded = tf.pad(x, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    return tf.conv2d(padded as tf.Tensor4D, w as tf.Tensor4D, c.strides, 'valid');
  }
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad);
}

function plainGrads(x: tf.Tensor, w: tf.Tensor, dy: tf.Tensor, c: Case): tf.Tensor[] {
  return tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b, c))([x, w], dy);
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - e[i]) / (1 + Math.abs(e[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst < 1e-4)) throw new Error(`${what}: entry ${at} is ${a[at]}, expected ${e[at]}`);
}

run('native unified conv kernels [tensorflow]', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
    const status = loadNativeOps();
    expect(status.reason).toBeNull();
  });

  it('runs on the native ops', () => {
    const status = loadNativeOps();
    expect(status.ops).toEqual(
      expect.arrayContaining(['MePropConvSelect', 'MePropConvUnifiedGradInput', 'MePropConvUnifiedGradFilter']),
    );
    expect(status.kernels).toEqual(
      expect.arrayContaining([
        MePropConvSelectChannels,
        MePropConvSelectChannelsAct,
        MePropConvUnifiedGradInput,
        MePropConvUnifiedGradFilter,
      ]),
    );
  });

  it.each(CASES)('gives plain tfjs gradients with every channel kept: $name', (c) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand(c.x, 1);
      const w = rand(c.filter, 2);
      const y = conv(x, w, c);
      const dy = rand(y.shape, 3);
      const CO = c.filter[3];
      // Every channel, in a shuffled order: the products must follow the list, not assume 0..CO-1.
      const channels = tf.tensor1d(
        Array.from({ length: CO }, (_, i) => (i * 7 + 3) % CO),
        'int32',
      );
      expect(new Set(channels.dataSync()).size).toBe(CO);
      const dyK = tf.gather(dy, channels, 3);
      const [gx, gw] = plainGrads(x, w, dy, c);
      const attrs = convAttrs(c);
      const dx = tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs) as tf.Tensor;
      const dW = tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs) as tf.Tensor;
      expectClose(dx, gx, 'dx');
      expectClose(dW, gw, 'dW');
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(CASES)('matches plain tfjs on dy masked to the top-k channels (k < channels): $name', (c) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand(c.x, 4);
      const w = rand(c.filter, 5);
      const y = conv(x, w, c);
      const dy = rand(y.shape, 6);
      const CO = c.filter[3];
      const k = c.k ?? Math.max(1, Math.floor(CO / 3));
      const keep = topChannels(dy.dataSync() as Float32Array, CO, k);
      const [gx, gw] = plainGrads(x, w, masked(dy, keep), c);
      // Through @meprop/core's conv backward, which runs the native kernels on tensorflow.
      const runtime = { config: validateMePropConfig({ k, mode: 'unified', seed: 1 }), rng: new Rng(1) };
      const g = mePropConv2dGradThunks(dy, x, w, { strides: c.strides, pad: c.pad }, runtime);
      expectClose(g.x(), gx, 'dx');
      expectClose(g.filter(), gw, 'dW');
      const [channels, dyK] = tf.engine().runKernel(MePropConvSelectChannels, { dy }, { k }) as tf.Tensor[];
      expect(Array.from(channels.dataSync())).toEqual(keep);
      expectClose(dyK, tf.gather(dy, keep, 3), 'dyK');
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(CASES)('per-position (per-example) products match plain tfjs on dy masked row by row: $name', (c) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand(c.x, 31);
      const w = rand(c.filter, 32);
      const dy = rand(conv(x, w, c).shape, 33);
      const CO = c.filter[3];
      const k = c.k ?? Math.max(1, Math.floor(CO / 3));
      const [gx, gw] = plainGrads(x, w, rowTopK(dy, k), c);
      const runtime = { config: validateMePropConfig({ k, mode: 'per-example', seed: 1 }), rng: new Rng(1) };
      const g = mePropConv2dGradThunks(dy, x, w, { strides: c.strides, pad: c.pad }, runtime);
      const dx = g.x();
      const dW = g.filter();
      expectClose(dx, gx, 'dx');
      expectClose(dW, gw, 'dW');
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('per-position selection: the k largest |dy| of every row, NaN first, ties to the lower channel (brute force)', () => {
    // 37 channels: the scalar path; 16-64 in whole vectors: the rows held in registers (AVX-512 builds); 80: whole
    // vectors, the row-array path.
    for (const CO of [37, 16, 32, 48, 64, 80])
      tf.tidy(() => {
        const P = 50;
        const v = values(P * CO, 51);
        for (let i = 0; i < v.length; i += 7) v[i] = Math.round(v[i] * 4) / 4; // many ties
        v[3 * CO + 30] = NaN;
        v[4 * CO + 2] = -Infinity;
        const dy = tf.tensor2d(v, [P, CO]);
        for (const k of [1, 5, CO]) {
          const [indices, vals] = tf.engine().runKernel(MePropConvSelectPositions, { dy }, { k }) as tf.Tensor[];
          const got = indices.arraySync() as number[][];
          const gotV = vals.dataSync();
          for (let r = 0; r < P; r++) {
            const row = Array.from(v.subarray(r * CO, (r + 1) * CO));
            const want = Array.from({ length: CO }, (_, c) => c)
              .sort((a, b) => {
                const na = Number.isNaN(row[a]);
                const nb = Number.isNaN(row[b]);
                if (na !== nb) return na ? -1 : 1;
                const d = Math.abs(row[b]) - Math.abs(row[a]);
                return na || d === 0 ? a - b : d;
              })
              .slice(0, k)
              .sort((a, b) => a - b);
            expect(got[r]).toEqual(want);
            want.forEach((c, t) => expect(Object.is(gotV[r * k + t], row[c]) || gotV[r * k + t] === row[c]).toBe(true));
          }
        }
      });
  });

  it('per-position kernels take any kept entries (random-k style) and check their indices', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const c = CASES[1];
      const x = rand(c.x, 41);
      const w = rand(c.filter, 42);
      const dy = rand(conv(x, w, c).shape, 43);
      const CO = c.filter[3];
      const P = dy.size / CO;
      const k = 3;
      const rng = new Rng(44);
      const idx = new Int32Array(P * k);
      for (let r = 0; r < P; r++) {
        const pick = new Set<number>();
        while (pick.size < k) pick.add(rng.nextInt(CO));
        idx.set(Array.from(pick), r * k);
      }
      const indices = tf.tensor2d(idx, [P, k], 'int32');
      const dy2 = tf.reshape(dy, [P, CO]);
      const values = tf.tensor2d(
        Array.from(idx, (col, i) => dy2.dataSync()[Math.floor(i / k) * CO + col]),
        [P, k],
      );
      const mask = new Float32Array(P * CO);
      idx.forEach((col, i) => (mask[Math.floor(i / k) * CO + col] = 1));
      const [gx, gw] = plainGrads(x, w, tf.mul(dy, tf.tensor(mask, dy.shape)), c);
      const attrs = convAttrs(c);
      const dx = tf.engine().runKernel('MePropSparseConvGradInput', { indices, values, filter: w }, attrs) as tf.Tensor;
      const dW = tf.engine().runKernel('MePropSparseConvGradFilter', { indices, values, x }, attrs) as tf.Tensor;
      expectClose(dx, gx, 'dx');
      expectClose(dW, gw, 'dW');
      const bad = tf.tensor2d(
        Array.from(idx, (v, i) => (i === 5 ? CO : v)),
        [P, k],
        'int32',
      );
      expect(() => tf.engine().runKernel('MePropSparseConvGradFilter', { indices: bad, values, x }, attrs)).toThrow(
        new RegExp(`indices\\[1, 2\\] = ${CO} is outside \\[0, ${CO}\\)`),
      );
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  // Stride 1 with vector input channels runs dx in gather form (each image's dy_k rows copied between zero
  // columns, so that the border positions, which only some taps reach, go through the blocks too).
  it.each([
    { name: 'strides [1, 2], same', shape: [2, 9, 8, 17, 3, 2, 7], strides: [1, 2], pad: 'same' },
    { name: 'stride 1, same (gather form)', shape: [2, 9, 8, 17, 3, 2, 7], strides: [1, 1], pad: 'same' },
    {
      name: 'stride 1, pad 1 (gather form, 3 border columns each side)',
      shape: [2, 7, 10, 32, 2, 3, 9],
      strides: [1, 1],
      pad: 1,
    },
    { name: 'stride 1, pad 5 (gather form, no border column)', shape: [1, 5, 6, 16, 3, 3, 8], strides: [1, 1], pad: 5 },
    { name: 'stride 1, valid, 5 columns (gather form)', shape: [3, 6, 5, 16, 3, 2, 6], strides: [1, 1], pad: 'valid' },
  ] as Array<{ name: string; shape: number[]; strides: [number, number]; pad: 'same' | 'valid' | number }>)(
    'supports dilations (brute-force loops as the reference): $name',
    ({ shape, strides, pad }) => {
      const [B, H, W, CI, FH, FW, CO] = shape;
      const d = 2;
      const x = rand([B, H, W, CI], 7);
      const w = rand([FH, FW, CI, CO], 8);
      // tfjs has no conv gradient with dilations > 1 (nor a forward with both strides and dilations > 1).
      const info = tf.backend_util.computeConv2DInfo([B, H, W, CI], [FH, FW, CI, CO], strides, d, pad);
      const [OH, OW] = [info.outHeight, info.outWidth];
      const dy = rand([B, OH, OW, CO], 9);
      const keep = [1, 4, 5];
      const channels = tf.tensor1d(keep, 'int32');
      const dyK = tf.gather(dy, channels, 3);
      const attrs: MePropSparseConvGradAttrs = {
        inputShape: [B, H, W, CI],
        filterShape: [FH, FW, CI, CO],
        strides,
        dilations: d,
        pad,
        dimRoundingMode: '',
      };
      const dx = tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs) as tf.Tensor;
      const dW = tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs) as tf.Tensor;
      const xs = x.dataSync();
      const ws = w.dataSync();
      const dys = dy.dataSync();
      const rx = new Float64Array(xs.length);
      const rw = new Float64Array(ws.length);
      for (let b = 0; b < B; b++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++)
            for (const co of keep) {
              const g = dys[((b * OH + oh) * OW + ow) * CO + co];
              for (let fh = 0; fh < FH; fh++)
                for (let fw = 0; fw < FW; fw++) {
                  const ih = oh * strides[0] + fh * d - info.padInfo.top;
                  const iw = ow * strides[1] + fw * d - info.padInfo.left;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  for (let ci = 0; ci < CI; ci++) {
                    const xi = ((b * H + ih) * W + iw) * CI + ci;
                    const wi = ((fh * FW + fw) * CI + ci) * CO + co;
                    rx[xi] += g * ws[wi];
                    rw[wi] += g * xs[xi];
                  }
                }
            }
      expectClose(dx, tf.tensor(Float32Array.from(rx), x.shape), 'dx');
      expectClose(dW, tf.tensor(Float32Array.from(rw), w.shape), 'dW');
      // The per-position kernels, given the same channels at every position.
      const P = B * OH * OW;
      const indices = tf.tensor2d(
        Int32Array.from({ length: P * keep.length }, (_, i) => keep[i % keep.length]),
        [P, 3],
        'int32',
      );
      const values = tf.reshape(dyK, [P, 3]);
      const sdx = tf.engine().runKernel('MePropSparseConvGradInput', { indices, values, filter: w }, attrs) as tf.Tensor;
      const sdW = tf.engine().runKernel('MePropSparseConvGradFilter', { indices, values, x }, attrs) as tf.Tensor;
      expectClose(sdx, tf.tensor(Float32Array.from(rx), x.shape), 'dx (per-position)');
      expectClose(sdW, tf.tensor(Float32Array.from(rw), w.shape), 'dW (per-position)');
      tf.dispose([x, w, dy, channels, dyK, dx, dW, indices, values, sdx, sdW]);
    },
  );

  it('ranks a channel with a NaN first and carries the NaN into dyK', () => {
    tf.tidy(() => {
      const v = values(2 * 3 * 3 * 6, 10);
      v[2 * 6 + 5] = NaN; // channel 5, small otherwise
      for (let i = 5; i < v.length; i += 6) if (!Number.isNaN(v[i])) v[i] *= 1e-3;
      const dy = tf.tensor(v, [2, 3, 3, 6]);
      const [channels, dyK] = tf.engine().runKernel(MePropConvSelectChannels, { dy }, { k: 2 }) as tf.Tensor[];
      const ch = Array.from(channels.dataSync());
      expect(ch).toContain(5);
      expect(ch).toEqual(topChannels(v, 6, 2));
      expect(Array.from(dyK.dataSync()).some(Number.isNaN)).toBe(true);
    });
  });

  it('fuses the ReLU and bias backward into the selection (brute force)', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const shape = [3, 5, 4, 20];
      const dy = rand(shape, 11);
      const y = tf.relu(rand(shape, 12));
      const dz = tf.mul(dy, tf.cast(tf.greater(y, 0), 'float32'));
      const keep = topChannels(dz.dataSync() as Float32Array, 20, 6);
      const [channels, dzK, bias] = tf
        .engine()
        .runKernel(MePropConvSelectChannelsAct, { dy, y }, { k: 6, activation: 'relu' }) as tf.Tensor[];
      expect(Array.from(channels.dataSync())).toEqual(keep);
      expectClose(dzK, tf.gather(dz, keep, 3), 'dzK');
      expectClose(bias, tf.sum(dz, [0, 1, 2]), 'bias gradient');
      const [ch2, dyK2, bias2] = tf
        .engine()
        .runKernel(MePropConvSelectChannelsAct, { dy, y }, { k: 6, activation: 'linear' }) as tf.Tensor[];
      const keepLinear = topChannels(dy.dataSync() as Float32Array, 20, 6);
      expect(Array.from(ch2.dataSync())).toEqual(keepLinear);
      expectClose(dyK2, tf.gather(dy, keepLinear, 3), 'dyK (linear)');
      expectClose(bias2, tf.sum(dy, [0, 1, 2]), 'bias gradient (linear)');
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ['relu', 'same', 1, 'unified'],
    ['relu', 'valid', 2, 'unified'],
    ['linear', 'same', 1, 'unified'],
    ['relu', 'same', 1, 'per-example'],
    ['relu', 'valid', 2, 'per-example'],
    ['linear', 'same', 1, 'per-example'],
  ] as const)(
    'mePropConv2d with bias and %s (%s, stride %i, %s) runs one fused selection and matches the brute-force reference',
    async (act, pad, strides, mode) => {
      const before = tf.memory().numTensors;
      const x = rand([3, 8, 9, 24], 21);
      const w = rand([3, 3, 24, 16], 22);
      const b = rand([16], 23) as tf.Tensor1D;
      const k = 5;
      const config = { k, mode };
      const layer = (xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor): tf.Tensor =>
        mePropConv2d(xa as tf.Tensor4D, wa as tf.Tensor4D, config, { strides, pad, bias: ba as tf.Tensor1D, activation: act });
      const y = layer(x, w, b);
      const dy = rand(y.shape, 24);
      let grads: tf.Tensor[] = [];
      const profile = await tf.profile(() => {
        grads = tf.grads((xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor) => tf.sum(tf.mul(layer(xa, wa, ba), dy)))([x, w, b]);
      });
      const names = profile.kernels.map((kk) => kk.name);
      if (mode === 'unified') {
        // The whole backward (selection, dx, dW, bias) in one kernel call.
        expect(names.filter((n) => n === MePropConvUnifiedBackward)).toHaveLength(1);
        expect(names).not.toContain(MePropConvSelectChannelsAct);
        expect(names).not.toContain(MePropConvUnifiedGradInput);
        expect(names).not.toContain(MePropConvUnifiedGradFilter);
      } else {
        expect(names).toContain(MePropConvSelectPositionsAct);
        expect(names).toContain('MePropSparseConvGradInput');
      }
      expect(names).not.toContain('Step'); // no dense ReLU gradient
      tf.tidy(() => {
        const z = tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad), b);
        expectClose(y, act === 'relu' ? tf.relu(z) : z, 'y');
        const dz = act === 'relu' ? tf.mul(dy, tf.cast(tf.greater(y, 0), 'float32')) : dy;
        const c: Case = { name: '', x: x.shape, filter: w.shape, strides, pad };
        const kept = mode === 'unified' ? masked(dz, topChannels(dz.dataSync() as Float32Array, 16, k)) : rowTopK(dz, k);
        const [gx, gw] = plainGrads(x, w, kept, c);
        expectClose(grads[0], gx, 'dx');
        expectClose(grads[1], gw, 'dW');
        expectClose(grads[2], tf.sum(dz, [0, 1, 2]), 'bias gradient');
      });
      tf.dispose([x, w, b, y, dy, ...grads]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  /** A float tensor's bits (NaN payloads included), for exact comparisons. */
  const bitsOf = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

  interface OneOpCase extends Case {
    dilations?: number;
    activation: 'relu' | 'linear';
    /** Puts NaN into dy (and y) at a few entries. */
    nan?: boolean;
  }
  const ONE_OP_CASES: OneOpCase[] = [
    { ...CASES[0], activation: 'relu' },
    { ...CASES[1], activation: 'linear' },
    { ...CASES[2], activation: 'relu', nan: true },
    { ...CASES[4], activation: 'linear', nan: true },
    { ...CASES[6], activation: 'relu' },
    { ...CASES[8], activation: 'relu', nan: true },
    { ...CASES[11], activation: 'linear' },
    {
      name: 'dilation 2, same, 13 -> 11 channels',
      x: [2, 9, 10, 13],
      filter: [3, 3, 13, 11],
      strides: 1,
      pad: 'same',
      dilations: 2,
      activation: 'relu',
    },
    {
      name: 'odd shape: batch 3, 11x13, 17 -> 9 channels, 5x3, k = 4',
      x: [3, 11, 13, 17],
      filter: [5, 3, 17, 9],
      strides: 1,
      pad: 'valid',
      k: 4,
      activation: 'relu',
    },
  ];

  it.each(ONE_OP_CASES)(
    'MePropConvUnifiedBackward gives the bits of the three-op path (selection, dx, dW): $name, $activation',
    (c) => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = rand(c.x, 31);
        const w = rand(c.filter, 32);
        const dilations = c.dilations ?? 1;
        const info = tf.backend_util.computeConv2DInfo(
          c.x as [number, number, number, number],
          c.filter as [number, number, number, number],
          c.strides,
          dilations,
          c.pad,
        );
        const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
        const dyV = rand(dyShape, 33).dataSync() as Float32Array;
        const yV = rand(dyShape, 34).dataSync() as Float32Array;
        if (c.nan === true) {
          dyV[5] = NaN;
          dyV[dyV.length - 3] = NaN;
          yV[17 % yV.length] = NaN;
        }
        const dy = tf.tensor(dyV, dyShape);
        const y = tf.tensor(yV, dyShape);
        const CO = c.filter[3];
        const k = c.k ?? Math.max(1, Math.floor(CO / 3));
        const attrs = { ...convAttrs(c), dilations };
        const sel = { k, activation: c.activation };
        const [channels, dzK, bias] = tf.engine().runKernel(MePropConvSelectChannelsAct, { dy, y }, sel) as tf.Tensor[];
        const dx = tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK: dzK, channels, filter: w }, attrs) as tf.Tensor;
        const dW = tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK: dzK, channels, x }, attrs) as tf.Tensor;
        const one = (withDx: boolean, withDw: boolean): tf.Tensor[] =>
          tf
            .engine()
            .runKernel(MePropConvUnifiedBackward, { dy, y, x, filter: w }, { ...attrs, ...sel, withDx, withDw }) as tf.Tensor[];
        const [dx1, dW1, bias1] = one(true, true);
        expect(dx1.shape).toEqual(c.x);
        expect(dW1.shape).toEqual(c.filter);
        expect(bitsOf(dx1)).toEqual(bitsOf(dx));
        expect(bitsOf(dW1)).toEqual(bitsOf(dW));
        expect(bitsOf(bias1)).toEqual(bitsOf(bias));
        // Not a vacuous comparison: the kept channels of dW hold values (NaN included), the others zeros.
        expect(bitsOf(dW1).some((b) => b !== 0)).toBe(true);
        const [dx2, dW2, bias2] = one(false, true);
        expect(dx2.shape).toEqual([0]);
        expect(bitsOf(dW2)).toEqual(bitsOf(dW));
        expect(bitsOf(bias2)).toEqual(bitsOf(bias));
        const [dx3, dW3] = one(true, false);
        expect(dW3.shape).toEqual([0]);
        expect(bitsOf(dx3)).toEqual(bitsOf(dx));
      });
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('unified thunks: one kernel call for dx and dW, the same bits in any order or subset, nothing left over', async () => {
    const before = tf.memory().numTensors;
    const x = rand([4, 10, 9, 24], 41);
    const w = rand([3, 3, 24, 16], 42);
    const dy = rand([4, 8, 7, 16], 43);
    const a = { strides: 1, pad: 'valid' as const };
    const runtime = () => ({ config: validateMePropConfig({ k: 5, mode: 'unified', seed: 1 }), rng: new Rng(1) });
    const thunks = () => mePropConv2dGradThunks(dy, x, w, a, runtime());
    // Reference: the three ops.
    const attrs = convAttrs({ name: '', x: x.shape, filter: w.shape, ...a });
    const ref = tf.tidy(() => {
      const [channels, dyK] = tf.engine().runKernel(MePropConvSelectChannels, { dy }, { k: 5 }) as tf.Tensor[];
      const rx = tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs) as tf.Tensor;
      const rw = tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs) as tf.Tensor;
      return [bitsOf(rx), bitsOf(rw)];
    });
    const profile = await tf.profile(() =>
      tf.tidy(() => {
        const g = thunks();
        expect(bitsOf(g.x())).toEqual(ref[0]);
        expect(bitsOf(g.filter())).toEqual(ref[1]);
      }),
    );
    expect(profile.kernels.map((kk) => kk.name)).toEqual([MePropConvUnifiedBackward]);
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.tidy(() => {
      const g = thunks();
      expect(bitsOf(g.filter())).toEqual(ref[1]); // filter only (a first layer), then dx
      expect(bitsOf(g.x())).toEqual(ref[0]);
    });
    tf.tidy(() => {
      // Two sets of thunks interleaved: the second's start drops the first's stash, whose filter thunk recomputes.
      const g1 = thunks();
      expect(bitsOf(g1.x())).toEqual(ref[0]);
      const g2 = thunks();
      expect(bitsOf(g1.filter())).toEqual(ref[1]);
      expect(bitsOf(g2.x())).toEqual(ref[0]);
      expect(bitsOf(g2.filter())).toEqual(ref[1]);
    });
    expect(tf.memory().numTensors).toBe(before + 3);
    // dx only: dW waits in the stash (one tensor) until the next unified backward starts.
    tf.tidy(() => {
      thunks().x();
    });
    expect(tf.memory().numTensors).toBe(before + 4);
    tf.tidy(() => {
      thunks().filter();
    });
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([x, w, dy]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a first conv layer (no dx wanted) runs the one op once for dW and the bias, the same bits, nothing left over', async () => {
    const before = tf.memory().numTensors;
    const x = rand([2, 9, 9, 16], 51);
    const w0 = rand([3, 3, 16, 8], 52);
    const b0 = rand([8], 53);
    const w = tf.variable(w0);
    const b = tf.variable(b0);
    const dy = rand([2, 7, 7, 8], 54);
    const config = { k: 3, mode: 'unified' as const };
    const layer = (xa: tf.Tensor, wa: tf.Tensor, ba: tf.Tensor): tf.Tensor =>
      tf.sum(
        tf.mul(mePropConv2d(xa as tf.Tensor4D, wa as tf.Tensor4D, config, { bias: ba as tf.Tensor1D, activation: 'relu' }), dy),
      );
    let grads: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
    const profile = await tf.profile(() => {
      grads = tf.variableGrads(() => layer(x, w, b) as tf.Scalar, [w, b]);
    });
    expect(profile.kernels.map((kk) => kk.name).filter((n) => n === MePropConvUnifiedBackward)).toHaveLength(1);
    // Reference: the same layer with dx wanted too (dx first, dW and the bias from the stash).
    const all = tf.grads(layer)([x, w, b]);
    const got = grads as { value: tf.Scalar; grads: tf.NamedTensorMap };
    expect(bitsOf(got.grads[w.name])).toEqual(bitsOf(all[1]));
    expect(bitsOf(got.grads[b.name])).toEqual(bitsOf(all[2]));
    tf.dispose([x, w0, b0, w, b, dy, got.value, ...Object.values(got.grads), ...all]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs the meProp conv forward like tfjs (Conv2D + MePropBiasAct; plain kernels otherwise)', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand([2, 9, 8, 20], 61);
      const w = rand([3, 3, 20, 12], 62);
      const b = rand([12], 63) as tf.Tensor1D;
      const config = { k: 3, mode: 'unified' as const };
      const z = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
      expectClose(mePropConv2d(x as tf.Tensor4D, w as tf.Tensor4D, config, { strides: 2, pad: 'same' }), z, 'no bias');
      expectClose(
        mePropConv2d(x as tf.Tensor4D, w as tf.Tensor4D, config, { strides: 2, pad: 'same', activation: 'relu' }),
        tf.relu(z),
        'relu, no bias',
      );
      expectClose(
        mePropConv2d(x as tf.Tensor4D, w as tf.Tensor4D, config, { strides: 2, pad: 'same', bias: b, activation: 'relu' }),
        tf.relu(tf.add(z, b)),
        'bias and relu',
      );
      const dw = rand([3, 3, 20, 2], 64);
      expectClose(
        mePropDepthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, config, { pad: 'valid' }),
        tf.depthwiseConv2d(x as tf.Tensor4D, dw as tf.Tensor4D, 1, 'valid'),
        'depthwise',
      );
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['unified', 'per-example'] as const)(
    'a two-conv net (bias, relu, pool) gives the same %s gradients on tensorflow (native) as on cpu (core loops)',
    async (mode) => {
      const net = (xs: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Tensor => {
        const config = { k: 3, mode };
        const h = mePropConv2d(xs as tf.Tensor4D, w1 as tf.Tensor4D, config, {
          pad: 'same',
          bias: b1 as tf.Tensor1D,
          activation: 'relu',
        });
        const p = tf.maxPool(h, 2, 2, 'valid');
        const o = mePropConv2d(p, w2 as tf.Tensor4D, config, { bias: b2 as tf.Tensor1D, activation: 'relu' });
        return tf.sum(tf.mul(o, tf.linspace(-1, 1, o.size).reshape(o.shape)));
      };
      const shapes = [[2, 10, 10, 3], [3, 3, 3, 16], [16], [3, 3, 16, 20], [20]];
      const run = (): Float32Array[] =>
        tf.tidy(() => {
          const args = shapes.map((sh, i) => tf.mul(rand(sh, 70 + i), i === 0 ? 1 : 0.5));
          return tf
            .grads(net)(args)
            .map((g) => g.dataSync() as Float32Array);
        });
      const native = run();
      await tf.setBackend('cpu');
      try {
        const cpu = run();
        native.forEach((g, i) => expectClose(tf.tensor(g), tf.tensor(cpu[i]), `gradient ${i}`));
      } finally {
        await tf.setBackend('tensorflow');
      }
    },
  );

  it('handles an empty batch (zero gradients of the right shapes)', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const attrs: MePropSparseConvGradAttrs = {
        inputShape: [0, 5, 5, 3],
        filterShape: [3, 3, 3, 4],
        strides: 1,
        dilations: 1,
        pad: 'valid',
        dimRoundingMode: '',
      };
      const x = tf.zeros([0, 5, 5, 3]);
      const w = rand([3, 3, 3, 4], 80);
      const dy = tf.zeros([0, 3, 3, 4]);
      const [channels, dyK] = tf.engine().runKernel(MePropConvSelectChannels, { dy }, { k: 2 }) as tf.Tensor[];
      expect(dyK.shape).toEqual([0, 3, 3, 2]);
      const dx = tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs) as tf.Tensor;
      const dW = tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs) as tf.Tensor;
      expect(dx.shape).toEqual([0, 5, 5, 3]);
      expect(Array.from(dW.dataSync()).every((v) => v === 0)).toBe(true);
      const [indices, vals] = tf
        .engine()
        .runKernel(MePropConvSelectPositions, { dy: tf.reshape(dy, [0, 4]) }, { k: 2 }) as tf.Tensor[];
      const sdx = tf.engine().runKernel('MePropSparseConvGradInput', { indices, values: vals, filter: w }, attrs) as tf.Tensor;
      const sdW = tf.engine().runKernel('MePropSparseConvGradFilter', { indices, values: vals, x }, attrs) as tf.Tensor;
      expect(sdx.shape).toEqual([0, 5, 5, 3]);
      expect(sdW.shape).toEqual([3, 3, 3, 4]);
      expect(Array.from(sdW.dataSync()).every((v) => v === 0)).toBe(true);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the argument and the value in its errors', () => {
    const before = tf.memory().numTensors;
    const dy = tf.zeros([1, 2, 2, 4]);
    const x = tf.zeros([1, 4, 4, 3]);
    const w = tf.zeros([3, 3, 3, 4]);
    const channels = tf.tensor1d([0, 7], 'int32');
    const dyK = tf.zeros([1, 2, 2, 2]);
    const attrs: MePropSparseConvGradAttrs = {
      inputShape: [1, 4, 4, 3],
      filterShape: [3, 3, 3, 4],
      strides: 1,
      dilations: 1,
      pad: 'valid',
      dimRoundingMode: '',
    };
    expect(() => tf.engine().runKernel(MePropConvSelectChannels, { dy }, { k: 5 })).toThrow(
      /attrs.k must be an integer in \[1, 4\], got 5/,
    );
    expect(() => tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter: w }, attrs)).toThrow(
      /channels\[1\] = 7 is outside \[0, 4\)/,
    );
    expect(() => tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs)).toThrow(
      /channels\[1\] = 7 is outside \[0, 4\)/,
    );
    expect(() => tf.engine().runKernel(MePropConvSelectChannelsAct, { dy, y: dy }, { k: 2, activation: 'elu' })).toThrow(
      /activation must be 'relu' or 'linear', got elu/,
    );
    tf.dispose([dy, x, w, channels, dyK]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same bits on one thread and on several (selections, dx, dW; unified and per-position)', () => {
    // The thread count is read from MEPROP_NATIVE_THREADS once per process: one child process per setting.
    const runWith = (threads: string): Record<string, string> => runThreadBitsChild('conv_thread_bits.ts', threads);
    const one = runWith('1');
    const two = runWith('2');
    const three = runWith('3');
    expect(Object.keys(one).sort()).toEqual([
      'bias',
      'bias2',
      'biasOne',
      'channels',
      'dW',
      'dWOne',
      'dWSparse',
      'dx',
      'dxOne',
      'dxSparse',
      'dyK',
      'indices',
      'values',
    ]);
    // The one-op backward gives the three ops' bits (the same functions) on any number of threads.
    expect([one.dxOne === one.dx, one.dWOne === one.dW, one.biasOne === one.bias]).toEqual([true, true, true]);
    for (const key of Object.keys(one)) {
      expect([key, two[key] === one[key], three[key] === one[key]]).toEqual([key, true, true]);
    }
  });
});
