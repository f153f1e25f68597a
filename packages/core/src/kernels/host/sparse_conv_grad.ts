// meProp's per-position conv backward on typed arrays (shared by cpu and wasm): dy [B, OH, OW, CO] keeps k
// output channels at every example and position, given as channel indices idx [P, k] and values val [P, k]
// (P = B·OH·OW). Both products loop over the kept entries only, im2col-style: each kept (p, co) adds
// val · W[:, :, :, co] into the patch of dx it came from, and val · patch(x) into W[:, :, :, co]'s gradient.
// Cost: P·k·FH·FW·CI multiply-adds for each product instead of P·CO·FH·FW·CI.
import type { backend_util } from '@tensorflow/tfjs-core';

type Info = backend_util.Conv2DInfo;

export interface SparseDyPositions {
  idx: Int32Array;
  val: Float32Array;
  k: number;
}

/** filter [FH, FW, CI, CO] → [CO, FH, FW, CI], so a kept channel reads one contiguous block. */
function channelsFirst(filter: ArrayLike<number>, FHW: number, CI: number, CO: number): Float32Array {
  const out = new Float32Array(FHW * CI * CO);
  for (let f = 0; f < FHW; f++) {
    for (let ci = 0; ci < CI; ci++) {
      const src = (f * CI + ci) * CO;
      for (let co = 0; co < CO; co++) out[(co * FHW + f) * CI + ci] = filter[src + co];
    }
  }
  return out;
}

/** dx [B, H, W, CI] (zeroed by the caller) from the kept entries of dy and the filter [FH, FW, CI, CO]. */
export function sparseConvGradInput(info: Info, s: SparseDyPositions, filter: ArrayLike<number>, dx: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const { idx, val, k } = s;
  const wT = channelsFirst(filter, FH * FW, CI, CO);
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        for (let t = 0; t < k; t++) {
          const v = val[p * k + t];
          if (v === 0) continue;
          const co = idx[p * k + t];
          for (let fh = 0; fh < FH; fh++) {
            const h = oh * sh + fh * dh - pt;
            if (h < 0 || h >= H) continue;
            for (let fw = 0; fw < FW; fw++) {
              const w = ow * sw + fw * dw - pl;
              if (w < 0 || w >= W) continue;
              const dxOff = ((b * H + h) * W + w) * CI;
              const wOff = ((co * FH + fh) * FW + fw) * CI;
              for (let ci = 0; ci < CI; ci++) dx[dxOff + ci] += v * wT[wOff + ci];
            }
          }
        }
      }
    }
  }
}

/** dW [FH, FW, CI, CO] (zeroed by the caller) from x [B, H, W, CI] and the kept entries of dy. */
export function sparseConvGradFilter(info: Info, s: SparseDyPositions, x: ArrayLike<number>, dW: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const { idx, val, k } = s;
  const FHW = FH * FW;
  const acc = new Float32Array(CO * FHW * CI); // [CO, FH, FW, CI]: one contiguous block per kept channel
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        for (let t = 0; t < k; t++) {
          const v = val[p * k + t];
          if (v === 0) continue;
          const co = idx[p * k + t];
          for (let fh = 0; fh < FH; fh++) {
            const h = oh * sh + fh * dh - pt;
            if (h < 0 || h >= H) continue;
            for (let fw = 0; fw < FW; fw++) {
              const w = ow * sw + fw * dw - pl;
              if (w < 0 || w >= W) continue;
              const xOff = ((b * H + h) * W + w) * CI;
              const aOff = ((co * FH + fh) * FW + fw) * CI;
              for (let ci = 0; ci < CI; ci++) acc[aOff + ci] += v * x[xOff + ci];
            }
          }
        }
      }
    }
  }
  for (let co = 0; co < CO; co++) {
    for (let f = 0; f < FHW; f++) {
      const src = (co * FHW + f) * CI;
      for (let ci = 0; ci < CI; ci++) dW[(f * CI + ci) * CO + co] = acc[src + ci];
    }
  }
}
