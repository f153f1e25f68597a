// Conv2DBackpropFilter for tfjs's `wasm` backend, which lacks it in tfjs 4.22 (so plain conv nets cannot train
// there). The filter gradient is itself a convolution: with the batch as channels and the channels as batch,
//   dW[fh, fw, ci, co] = Σ_{b,oh,ow} x[b, oh·s + fh·d − pt, ow·s + fw·d − pl, ci] · dy[b, oh, ow, co]
// is conv2d(xᵀ [CI, H, W, B], dyᵀ [OH, OW, B, CO]) with stride d (the forward dilation) and dilation s (the
// forward stride), so it runs on wasm's own XNNPACK convolution instead of a JavaScript loop.
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, disposeIntermediate } from './call_kernel';

const BACKEND = 'wasm';

export interface Conv2DBackpropFilterAttrsLike {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: number | [number, number];
}

/** The filter gradient for x [B, H, W, CI] and dy [B, OH, OW, CO] (NHWC), on the wasm backend. */
export function wasmConvFilterGradient(
  backend: unknown,
  x: TensorInfo,
  dy: TensorInfo,
  a: Conv2DBackpropFilterAttrsLike,
): TensorInfo {
  if (a.dataFormat === 'NCHW')
    throw new Error("meProp wasm Conv2DBackpropFilter: dataFormat 'NCHW' is not supported (use 'NHWC')");
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
  );
  const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { outHeight: OH, outWidth: OW, inHeight: H, inWidth: W } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Rows of x the convolution reads: up to (FH−1)·dh + (OH−1)·sh − pt. Pad below to reach it, or crop the
  // rows it never reads (a negative pad), so the transposed convolution's output is exactly FH × FW.
  const needH = (FH - 1) * dh + (OH - 1) * sh + 1 - pt;
  const needW = (FW - 1) * dw + (OW - 1) * sw + 1 - pl;
  const toFree: TensorInfo[] = [];
  let xT = callKernel('Transpose', BACKEND, backend, { x }, { perm: [3, 1, 2, 0] }); // [CI, H, W, B]
  toFree.push(xT);
  if (needH < H || needW < W) {
    const cropped = callKernel(
      'Slice',
      BACKEND,
      backend,
      { x: xT },
      {
        begin: [0, 0, 0, 0],
        size: [xT.shape[0], Math.min(H, needH), Math.min(W, needW), xT.shape[3]],
      },
    );
    toFree.push(cropped);
    xT = cropped;
  }
  const pb = Math.max(0, needH - H);
  const pr = Math.max(0, needW - W);
  const dyT = callKernel('Transpose', BACKEND, backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, B, CO]
  toFree.push(dyT);
  const conv = callKernel('Conv2D', BACKEND, backend, { x: xT, filter: dyT }, {
    strides: [dh, dw],
    dilations: [sh, sw],
    pad: [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ],
    dataFormat: 'NHWC',
  } as unknown as NamedAttrMap); // [CI, FH, FW, CO]
  toFree.push(conv);
  const out = callKernel('Transpose', BACKEND, backend, { x: conv }, { perm: [1, 2, 0, 3] });
  disposeIntermediate(backend, ...toFree);
  return out;
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  return wasmConvFilterGradient(backend, x, dy, attrs as unknown as Conv2DBackpropFilterAttrsLike);
};

export const wasmConv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: BACKEND,
  kernelFunc: conv2DBackpropFilter,
};
