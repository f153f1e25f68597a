import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backend_util } from '@tensorflow/tfjs-core';
import {
  sparseConvGradFilter,
  sparseConvGradFilterJs,
  sparseConvGradInput,
  sparseConvGradInputJs,
  type SparseDyPositions,
} from './sparse_conv_grad';
import { hostSimd, setHostSimd } from './host_simd';
import { selectKept } from './top_k';

type Shape4 = [number, number, number, number];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

interface Case {
  name: string;
  x: Shape4;
  f: Shape4;
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: 'same' | 'valid';
  k: number;
}

const CASES: Case[] = [
  {
    name: 'issue-13 layer shape, smaller batch',
    x: [2, 28, 28, 32],
    f: [3, 3, 32, 64],
    strides: 1,
    dilations: 1,
    pad: 'same',
    k: 8,
  },
  {
    name: 'odd channels (scalar tails), stride 2, valid',
    x: [3, 9, 7, 5],
    f: [3, 2, 5, 7],
    strides: 2,
    dilations: 1,
    pad: 'valid',
    k: 3,
  },
  { name: 'one input channel (a first layer)', x: [2, 8, 8, 1], f: [5, 5, 1, 6], strides: 1, dilations: 1, pad: 'same', k: 2 },
  { name: 'dilation 2, same', x: [2, 10, 9, 4], f: [3, 3, 4, 9], strides: 1, dilations: 2, pad: 'same', k: 5 },
  { name: 'k = every channel, 1x1 filter', x: [2, 5, 5, 6], f: [1, 1, 6, 4], strides: 1, dilations: 1, pad: 'valid', k: 4 },
  { name: 'stride [2, 1], k = 1', x: [1, 7, 6, 3], f: [2, 3, 3, 5], strides: [2, 1], dilations: 1, pad: 'same', k: 1 },
];

/** Per position, k distinct ascending channels with random values; some exact zeros, and specials if asked. */
function keptEntries(info: backend_util.Conv2DInfo, k: number, seed: number, specials: boolean): SparseDyPositions {
  const next = rng(seed);
  const P = info.batchSize * info.outHeight * info.outWidth;
  const CO = info.outChannels;
  const idx = new Int32Array(P * k);
  const val = new Float32Array(P * k);
  const special = [NaN, Infinity, -Infinity, -0];
  for (let p = 0; p < P; p++) {
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(Math.floor(next() * CO));
    [...chosen]
      .sort((a, b) => a - b)
      .forEach((c, t) => {
        idx[p * k + t] = c;
        const u = next();
        val[p * k + t] = u < 0.1 ? 0 : specials && u > 0.995 ? special[Math.floor(next() * 4)] : next() * 2 - 1;
      });
  }
  return { idx, val, k };
}

function randomArray(n: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    // NaN payloads may differ between engines; any NaN equals any NaN.
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

describe('host kernels as WebAssembly (per-position conv backward, small-k selection)', () => {
  afterEach(() => setHostSimd(true));

  it('load in Node (WebAssembly SIMD is available here, so the fast path must be taken)', () => {
    expect(hostSimd()).not.toBeNull();
  });

  describe.each(CASES)('$name', (c) => {
    const info = backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations, c.pad);
    const xSize = c.x.reduce((a, b) => a * b);
    const fSize = c.f.reduce((a, b) => a * b);

    it.each([false, true])(
      'dx has the same bits as the JavaScript loops (specials in dy: %p), added into a nonzero dx',
      (specials) => {
        const s = keptEntries(info, c.k, 7 + c.k, specials);
        const filter = randomArray(fSize, 3);
        const start = randomArray(xSize, 5); // both add into the same nonzero start
        const js = start.slice();
        const simd = start.slice();
        sparseConvGradInputJs(info, s, filter, js);
        sparseConvGradInput(info, s, filter, simd);
        expect(sameBits(simd, js)).toBe(true);
        expect(simd.some((v, i) => v !== start[i])).toBe(true); // something was added
      },
    );

    it.each([false, true])('dW has the same bits as the JavaScript loops (specials in dy and x: %p)', (specials) => {
      const s = keptEntries(info, c.k, 11 + c.k, specials);
      const x = randomArray(xSize, 13);
      if (specials) x[Math.floor(xSize / 2)] = NaN;
      const js = new Float32Array(fSize);
      const simd = new Float32Array(fSize).fill(7); // every entry is written
      sparseConvGradFilterJs(info, s, x, js);
      sparseConvGradFilter(info, s, x, simd);
      expect(sameBits(simd, js)).toBe(true);
    });
  });

  it('dx against a brute-force sum over the kept entries (float64)', () => {
    const c = CASES[1];
    const info = backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations, c.pad);
    const s = keptEntries(info, c.k, 21, false);
    const filter = randomArray(
      c.f.reduce((a, b) => a * b),
      22,
    );
    const [B, H, W, CI] = c.x;
    const [FH, FW, , CO] = c.f;
    const want = new Float64Array(B * H * W * CI);
    let p = 0;
    for (let b = 0; b < B; b++)
      for (let oh = 0; oh < info.outHeight; oh++)
        for (let ow = 0; ow < info.outWidth; ow++, p++)
          for (let t = 0; t < c.k; t++) {
            const co = s.idx[p * c.k + t];
            const v = s.val[p * c.k + t];
            for (let fh = 0; fh < FH; fh++)
              for (let fw = 0; fw < FW; fw++) {
                const h = oh * info.strideHeight + fh * info.dilationHeight - info.padInfo.top;
                const w = ow * info.strideWidth + fw * info.dilationWidth - info.padInfo.left;
                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                for (let ci = 0; ci < CI; ci++)
                  want[((b * H + h) * W + w) * CI + ci] += v * filter[((fh * FW + fw) * CI + ci) * CO + co];
              }
          }
    const got = new Float32Array(want.length);
    sparseConvGradInput(info, s, filter, got);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
  });

  it('switched off, the JavaScript loops run (and give the same bits)', () => {
    setHostSimd(false);
    expect(hostSimd()).toBeNull();
    const c = CASES[3];
    const info = backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations, c.pad);
    const s = keptEntries(info, c.k, 31, false);
    const filter = randomArray(
      c.f.reduce((a, b) => a * b),
      32,
    );
    const off = new Float32Array(c.x.reduce((a, b) => a * b));
    sparseConvGradInput(info, s, filter, off);
    setHostSimd(true);
    const on = new Float32Array(off.length);
    sparseConvGradInput(info, s, filter, on);
    expect(sameBits(on, off)).toBe(true);
  });

  it.each([
    [512, 64, 8, 0],
    [300, 32, 4, 0],
    [200, 100, 16, 0],
    [1000, 7, 1, 0],
    [400, 64, 8, 4], // values on 4 levels: many ties, the lower index must win
    [4096, 3, 2, 2],
  ])(
    'per-row top-k on %i rows of %i, k = %i (levels %i): the same indices and values as the JavaScript selection',
    (rows, cols, k, levels) => {
      const next = rng(rows * 31 + cols);
      const dy = Float32Array.from({ length: rows * cols }, () => {
        const u = next();
        if (u < 0.003) return NaN;
        if (u < 0.006) return u < 0.0045 ? Infinity : -Infinity;
        if (u < 0.02) return u < 0.013 ? 0 : -0;
        const v = next() * 2 - 1;
        return levels > 0 ? Math.round(v * levels) / levels : v;
      });
      expect(rows * cols).toBeGreaterThanOrEqual(4096); // large enough for the module path
      const run = (on: boolean) => {
        setHostSimd(on);
        const idx = new Int32Array(rows * k);
        const val = new Float32Array(rows * k);
        selectKept(dy, rows, cols, k, 'per-example', 0, idx, val);
        return { idx, val };
      };
      const js = run(false);
      const simd = run(true);
      expect(Array.from(simd.idx)).toEqual(Array.from(js.idx));
      expect(sameBits(simd.val, js.val)).toBe(true);
      // And it is a real top-k: every kept magnitude is >= every dropped one in its row (NaN largest).
      const mag = (v: number) => (Number.isNaN(v) ? Infinity : Math.abs(v));
      for (let r = 0; r < rows; r += 37) {
        const kept = new Set(Array.from(simd.idx.subarray(r * k, (r + 1) * k)));
        const minKept = Math.min(...[...kept].map((j) => mag(dy[r * cols + j])));
        for (let j = 0; j < cols; j++) if (!kept.has(j)) expect(mag(dy[r * cols + j])).toBeLessThanOrEqual(minKept);
      }
    },
  );

  it('the committed module is a fresh build of wasm/host_simd.as.ts (run `npm run build:wasm -w @meprop/core` after editing it)', () => {
    const script = join(__dirname, '..', '..', '..', 'scripts', 'build-wasm.mjs');
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
    expect(readFileSync(join(__dirname, 'host_simd_bytes.ts'), 'utf8')).toContain('Do not edit');
  }, 60000);
});
