// meProp's per-position conv backward on typed arrays (shared by cpu and wasm): dy [B, OH, OW, CO] keeps k
// output channels at every example and position, given as channel indices idx [P, k] and values val [P, k]
// (P = B·OH·OW). Both products loop over the kept entries only, im2col-style: each kept (p, co) adds
// val · W[:, :, :, co] into the patch of dx it came from, and val · patch(x) into W[:, :, :, co]'s gradient.
// Cost: P·k·FH·FW·CI multiply-adds for each product instead of P·CO·FH·FW·CI. What made them fast (measured
// on the issue-13 layer, 32×28×28, 32 → 64 channels, 3×3, k = 8, plain node): summing up to eight entries per
// pass, so each accumulator is read and written once per eight multiply-adds instead of once per one (dx 1.7-2×,
// dW 2.8× over one entry per pass), and for dW regrouping the entries by channel so that the accumulator is one
// channel's block (L1) and x is read in ascending order.
import type { backend_util } from '@tensorflow/tfjs-core';
import { hostSimd } from './host_simd';

type Info = backend_util.Conv2DInfo;

export interface SparseDyPositions {
  idx: Int32Array;
  val: Float32Array;
  k: number;
}

/** filter [FH, FW, CI, CO] → [CO, FH, FW, CI], so a kept channel reads one contiguous block. */
export function channelsFirst(filter: ArrayLike<number>, FHW: number, CI: number, CO: number): Float32Array {
  const out = new Float32Array(FHW * CI * CO);
  for (let f = 0; f < FHW; f++) {
    for (let ci = 0; ci < CI; ci++) {
      const src = (f * CI + ci) * CO;
      for (let co = 0; co < CO; co++) out[(co * FHW + f) * CI + ci] = filter[src + co];
    }
  }
  return out;
}

/**
 * dx [B, H, W, CI] (zeroed by the caller) from the kept entries of dy and the filter [FH, FW, CI, CO]. Per
 * position, the k kept filter blocks are first summed into one patch (FH·FW·CI, contiguous, in L1), then the
 * patch is added into dx once: dx is read and written FH·FW·CI times per position instead of k times that.
 * Runs as WebAssembly SIMD where the runtime has it (host_simd.ts: the same bits).
 */
export function sparseConvGradInput(info: Info, s: SparseDyPositions, filter: ArrayLike<number>, dx: Float32Array): void {
  const simd = hostSimd();
  if (simd) {
    const { filterHeight: FH, filterWidth: FW, inChannels: CI, outChannels: CO } = info;
    simd.gradInput(info, s, channelsFirst(filter, FH * FW, CI, CO), dx);
    return;
  }
  sparseConvGradInputJs(info, s, filter, dx);
}

/** sparseConvGradInput in JavaScript (the reference of the SIMD version, and its fallback). */
export function sparseConvGradInputJs(info: Info, s: SparseDyPositions, filter: ArrayLike<number>, dx: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const { idx, val, k } = s;
  const FHW = FH * FW;
  const patchSize = FHW * CI;
  const wT = channelsFirst(filter, FHW, CI, CO);
  const patch = new Float64Array(patchSize);
  const vs = new Float64Array(k);
  const offs = new Int32Array(k);
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        // The kept entries of this position, zeros skipped, four at a time: one read and write of the patch
        // per four multiply-adds.
        let n = 0;
        for (let t = 0; t < k; t++) {
          const v = val[p * k + t];
          if (v === 0) continue;
          vs[n] = v;
          offs[n++] = idx[p * k + t] * patchSize;
        }
        if (n === 0) continue;
        patch.fill(0);
        let t = 0;
        for (; t + 8 <= n; t += 8) {
          const v0 = vs[t],
            v1 = vs[t + 1],
            v2 = vs[t + 2],
            v3 = vs[t + 3];
          const v4 = vs[t + 4],
            v5 = vs[t + 5],
            v6 = vs[t + 6],
            v7 = vs[t + 7];
          const o0 = offs[t],
            o1 = offs[t + 1],
            o2 = offs[t + 2],
            o3 = offs[t + 3];
          const o4 = offs[t + 4],
            o5 = offs[t + 5],
            o6 = offs[t + 6],
            o7 = offs[t + 7];
          for (let j = 0; j < patchSize; j++) {
            patch[j] +=
              v0 * wT[o0 + j] +
              v1 * wT[o1 + j] +
              v2 * wT[o2 + j] +
              v3 * wT[o3 + j] +
              v4 * wT[o4 + j] +
              v5 * wT[o5 + j] +
              v6 * wT[o6 + j] +
              v7 * wT[o7 + j];
          }
        }
        for (; t + 4 <= n; t += 4) {
          const v0 = vs[t],
            v1 = vs[t + 1],
            v2 = vs[t + 2],
            v3 = vs[t + 3];
          const o0 = offs[t],
            o1 = offs[t + 1],
            o2 = offs[t + 2],
            o3 = offs[t + 3];
          for (let j = 0; j < patchSize; j++) patch[j] += v0 * wT[o0 + j] + v1 * wT[o1 + j] + v2 * wT[o2 + j] + v3 * wT[o3 + j];
        }
        for (; t < n; t++) {
          const v0 = vs[t];
          const o0 = offs[t];
          for (let j = 0; j < patchSize; j++) patch[j] += v0 * wT[o0 + j];
        }
        for (let fh = 0; fh < FH; fh++) {
          const h = oh * sh + fh * dh - pt;
          if (h < 0 || h >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const w = ow * sw + fw * dw - pl;
            if (w < 0 || w >= W) continue;
            const dxOff = ((b * H + h) * W + w) * CI;
            const pOff = (fh * FW + fw) * CI;
            for (let ci = 0; ci < CI; ci++) dx[dxOff + ci] += patch[pOff + ci];
          }
        }
      }
    }
  }
}

/** Typed arrays for the dW pass's bookkeeping (plain arrays, or views of the SIMD module's memory). */
export interface EntryArrays {
  i32(n: number): Int32Array;
  f64(n: number): Float64Array;
  u8(n: number): Uint8Array;
}

const plainArrays: EntryArrays = {
  i32: (n) => new Int32Array(n),
  f64: (n) => new Float64Array(n),
  u8: (n) => new Uint8Array(n),
};

/** The kept entries regrouped by channel, and the per-position and per-tap offsets the dW loops use. */
export interface FilterEntries {
  /** [CO + 1]: channel co's entries are [start[co], start[co + 1]). */
  start: Int32Array;
  /** Position and value of each nonzero kept entry, by channel, positions ascending. Sized P·k (n used). */
  entPos: Int32Array;
  entVal: Float64Array;
  /** Per position: the element offset of its receptive field's corner in x (may be negative at the border),
   * whether the field lies inside x, and the corner's row and column. */
  corner: Int32Array;
  inside: Uint8Array;
  h0s: Int32Array;
  w0s: Int32Array;
  /** [FH·FW]: the taps' element offsets in x relative to the corner. */
  tapX: Int32Array;
}

/** Counting sort of the nonzero kept entries by channel, and the offsets; arrays from `arrays`. */
export function filterEntries(info: Info, s: SparseDyPositions, arrays: EntryArrays = plainArrays): FilterEntries {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const { idx, val, k } = s;
  const FHW = FH * FW;
  const P = B * OH * OW;
  const start = arrays.i32(CO + 1);
  const entPos = arrays.i32(P * k);
  const entVal = arrays.f64(P * k);
  const corner = arrays.i32(P);
  const inside = arrays.u8(P);
  const h0s = arrays.i32(P);
  const w0s = arrays.i32(P);
  const tapX = arrays.i32(FHW);
  start.fill(0);
  for (let e = 0; e < P * k; e++) if (val[e] !== 0) start[idx[e] + 1]++;
  for (let co = 0; co < CO; co++) start[co + 1] += start[co];
  const fill = start.slice(0, CO);
  for (let p = 0; p < P; p++) {
    for (let t = 0; t < k; t++) {
      const v = val[p * k + t];
      if (v === 0) continue;
      const slot = fill[idx[p * k + t]]++;
      entPos[slot] = p;
      entVal[slot] = v;
    }
  }
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        const h0 = oh * sh - pt;
        const w0 = ow * sw - pl;
        h0s[p] = h0;
        w0s[p] = w0;
        corner[p] = ((b * H + h0) * W + w0) * CI;
        inside[p] = h0 >= 0 && w0 >= 0 && h0 + (FH - 1) * dh < H && w0 + (FW - 1) * dw < W ? 1 : 0;
      }
    }
  }
  for (let fh = 0; fh < FH; fh++) for (let fw = 0; fw < FW; fw++) tapX[fh * FW + fw] = (fh * dh * W + fw * dw) * CI;
  return { start, entPos, entVal, corner, inside, h0s, w0s, tapX };
}

/**
 * dW [FH, FW, CI, CO] from x [B, H, W, CI] and the kept entries of dy. The kept entries are regrouped by
 * channel first (a counting sort, positions stay ascending); then each channel's gradient block
 * (FH·FW·CI, in L1) sums v · patch(x) over its entries, eight or four entries at a time: one read and write of
 * the block per eight (four) multiply-adds, and x read in ascending order. Runs as WebAssembly SIMD where the
 * runtime has it (host_simd.ts: the same bits).
 */
export function sparseConvGradFilter(info: Info, s: SparseDyPositions, x: ArrayLike<number>, dW: Float32Array): void {
  const simd = hostSimd();
  if (simd) {
    simd.gradFilter(info, s.k, x, dW, (arrays) => filterEntries(info, s, arrays));
    return;
  }
  sparseConvGradFilterJs(info, s, x, dW);
}

/** sparseConvGradFilter in JavaScript (the reference of the SIMD version, and its fallback). */
export function sparseConvGradFilterJs(info: Info, s: SparseDyPositions, x: ArrayLike<number>, dW: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: CI, outChannels: CO } = info;
  const { filterHeight: FH, filterWidth: FW, dilationHeight: dh, dilationWidth: dw } = info;
  const FHW = FH * FW;
  const patchSize = FHW * CI;
  const { start, entPos, entVal, corner, inside, h0s, w0s, tapX } = filterEntries(info, s);
  const acc = new Float64Array(patchSize);
  for (let co = 0; co < CO; co++) {
    acc.fill(0);
    let e = start[co];
    const end = start[co + 1];
    while (e < end) {
      const p0 = entPos[e];
      if (
        e + 8 <= end &&
        inside[p0] &&
        inside[entPos[e + 1]] &&
        inside[entPos[e + 2]] &&
        inside[entPos[e + 3]] &&
        inside[entPos[e + 4]] &&
        inside[entPos[e + 5]] &&
        inside[entPos[e + 6]] &&
        inside[entPos[e + 7]]
      ) {
        const v0 = entVal[e],
          v1 = entVal[e + 1],
          v2 = entVal[e + 2],
          v3 = entVal[e + 3];
        const v4 = entVal[e + 4],
          v5 = entVal[e + 5],
          v6 = entVal[e + 6],
          v7 = entVal[e + 7];
        const c0 = corner[p0],
          c1 = corner[entPos[e + 1]],
          c2 = corner[entPos[e + 2]],
          c3 = corner[entPos[e + 3]];
        const c4 = corner[entPos[e + 4]],
          c5 = corner[entPos[e + 5]],
          c6 = corner[entPos[e + 6]],
          c7 = corner[entPos[e + 7]];
        for (let f = 0; f < FHW; f++) {
          const a = f * CI;
          const o = tapX[f];
          const x0 = c0 + o,
            x1 = c1 + o,
            x2 = c2 + o,
            x3 = c3 + o;
          const x4 = c4 + o,
            x5 = c5 + o,
            x6 = c6 + o,
            x7 = c7 + o;
          for (let ci = 0; ci < CI; ci++) {
            acc[a + ci] +=
              v0 * x[x0 + ci] +
              v1 * x[x1 + ci] +
              v2 * x[x2 + ci] +
              v3 * x[x3 + ci] +
              v4 * x[x4 + ci] +
              v5 * x[x5 + ci] +
              v6 * x[x6 + ci] +
              v7 * x[x7 + ci];
          }
        }
        e += 8;
        continue;
      }
      if (e + 4 <= end && inside[p0] && inside[entPos[e + 1]] && inside[entPos[e + 2]] && inside[entPos[e + 3]]) {
        const v0 = entVal[e],
          v1 = entVal[e + 1],
          v2 = entVal[e + 2],
          v3 = entVal[e + 3];
        const c0 = corner[p0],
          c1 = corner[entPos[e + 1]],
          c2 = corner[entPos[e + 2]],
          c3 = corner[entPos[e + 3]];
        for (let f = 0; f < FHW; f++) {
          const a = f * CI;
          const o = tapX[f];
          const x0 = c0 + o,
            x1 = c1 + o,
            x2 = c2 + o,
            x3 = c3 + o;
          for (let ci = 0; ci < CI; ci++) {
            acc[a + ci] += v0 * x[x0 + ci] + v1 * x[x1 + ci] + v2 * x[x2 + ci] + v3 * x[x3 + ci];
          }
        }
        e += 4;
        continue;
      }
      // One entry, with bounds checks (its field may cross the padding).
      const v = entVal[e];
      const h0 = h0s[p0];
      const w0 = w0s[p0];
      for (let fh = 0; fh < FH; fh++) {
        const h = h0 + fh * dh;
        if (h < 0 || h >= H) continue;
        for (let fw = 0; fw < FW; fw++) {
          const w = w0 + fw * dw;
          if (w < 0 || w >= W) continue;
          const a = (fh * FW + fw) * CI;
          const xo = corner[p0] + tapX[fh * FW + fw];
          for (let ci = 0; ci < CI; ci++) acc[a + ci] += v * x[xo + ci];
        }
      }
      e++;
    }
    for (let j = 0; j < patchSize; j++) dW[j * CO + co] = acc[j];
  }
}
