// UnsortedSegmentSum for tfjs's `wasm` backend (missing in tfjs 4.22, so the gradient of tf.gather, and with
// it every Embedding layer, fails there): one pass over the rows of x, adding each into its segment.
// Negative segment ids are dropped (TensorFlow's semantics); ids >= numSegments throw.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmMemory } from './register';

const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const idsRank = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `UnsortedSegmentSum (wasm): segmentIds of shape [${segmentIds.shape}] must be a prefix of x's shape [${x.shape}]`,
    );
  }
  const rest = x.shape.slice(idsRank);
  const rowSize = rest.reduce((p, d) => p * d, 1);
  const out = wasmMemory.alloc(backend, [numSegments, ...rest], x.dtype);
  const o = wasmMemory.view(backend, out);
  o.fill(0);
  const xv = wasmMemory.view(backend, x);
  const ids = wasmMemory.view(backend, segmentIds);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0) continue;
    if (s >= numSegments)
      throw new Error(`UnsortedSegmentSum (wasm): segment id ${s} at position ${r} is not < numSegments ${numSegments}`);
    const src = r * rowSize;
    const dst = s * rowSize;
    for (let j = 0; j < rowSize; j++) o[dst + j] += xv[src + j];
  }
  return out;
};

export const wasmUnsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
