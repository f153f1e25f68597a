// The two gradients of a depthwise convolution (NHWC, channel multiplier M), as loops on typed arrays.
// Output channel c = ci·M + m reads only input channel ci, so both loops run over (b, oh, ow, fh, fw) and then
// over contiguous runs of channels.
import type { backend_util } from '@tensorflow/tfjs-core';

type Info = backend_util.Conv2DInfo;

/** dx [B, H, W, CI] (zeroed by the caller) from dy [B, OH, OW, CI·M] and filter [FH, FW, CI, M]. */
export function depthwiseBackpropInput(info: Info, dy: Float32Array, filter: Float32Array, dx: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const M = info.outChannels / CI;
  const CO = CI * M;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((b * OH + oh) * OW + ow) * CO;
        for (let fh = 0; fh < FH; fh++) {
          const h = oh * sh + fh * dh - pt;
          if (h < 0 || h >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const w = ow * sw + fw * dw - pl;
            if (w < 0 || w >= W) continue;
            const dxOff = ((b * H + h) * W + w) * CI;
            const fOff = (fh * FW + fw) * CO;
            if (M === 1) {
              for (let c = 0; c < CI; c++) dx[dxOff + c] += dy[dyOff + c] * filter[fOff + c];
            } else {
              for (let c = 0; c < CI; c++) {
                let s = 0;
                for (let m = 0; m < M; m++) s += dy[dyOff + c * M + m] * filter[fOff + c * M + m];
                dx[dxOff + c] += s;
              }
            }
          }
        }
      }
    }
  }
}

/** dW [FH, FW, CI, M] (zeroed by the caller) from x [B, H, W, CI] and dy [B, OH, OW, CI·M]. */
export function depthwiseBackpropFilter(info: Info, x: Float32Array, dy: Float32Array, dW: Float32Array): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const M = info.outChannels / CI;
  const CO = CI * M;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((b * OH + oh) * OW + ow) * CO;
        for (let fh = 0; fh < FH; fh++) {
          const h = oh * sh + fh * dh - pt;
          if (h < 0 || h >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const w = ow * sw + fw * dw - pl;
            if (w < 0 || w >= W) continue;
            const xOff = ((b * H + h) * W + w) * CI;
            const fOff = (fh * FW + fw) * CO;
            if (M === 1) {
              for (let c = 0; c < CI; c++) dW[fOff + c] += x[xOff + c] * dy[dyOff + c];
            } else {
              for (let c = 0; c < CI; c++) {
                const xv = x[xOff + c];
                for (let m = 0; m < M; m++) dW[fOff + c * M + m] += xv * dy[dyOff + c * M + m];
              }
            }
          }
        }
      }
    }
  }
}
