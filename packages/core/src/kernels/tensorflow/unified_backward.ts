// meProp's unified backward on the `tensorflow` backend in one kernel call: selection, dW and (when asked)
// dx, run as one TensorFlow graph (unified_graph.ts) or, when the graph is unavailable, op by op with the
// same ops and the same results. Also dx from an earlier selection (MePropGatherMatMul), the second half
// of the backward when the engine asks for dx after the selection was made.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  MePropGatherMatMul,
  MePropGatherMatMulAttrs,
  MePropUnifiedBackward,
  MePropUnifiedBackwardAttrs,
} from '../../kernel_names';
import { NativeScope, NativeTensor, withNativeScope } from './native_ops';
import { bFeeds, dropUnifiedGraph, unifiedGraph, unifiedOutputs } from './unified_graph';

/** The graph uses int32 flat offsets into b: only when they cannot overflow. */
function fitsGraph(b: TensorInfo): boolean {
  return b.shape[0] * b.shape[1] < 2 ** 31;
}

/** Runs the graph's fetches; null (and the graph dropped) if the run fails, so the caller goes op by op. */
function runGraph(s: NativeScope, feeds: [string, number][], fetches: string[]): NativeTensor[] | null {
  const graph = unifiedGraph(s.binding);
  if (graph === null) return null;
  try {
    return s.own(graph.run(feeds, fetches));
  } catch (e) {
    dropUnifiedGraph(s.binding, e);
    return null;
  }
}

/** op(b)'s k kept columns times dyk: dx [M, K], or dxᵀ [K, M] when a is stored transposed. Op by op. */
function dxOps(s: NativeScope, dyk: number, idx: number, b: TensorInfo, k: number, tA: boolean, tB: boolean): NativeTensor {
  const w = s.input(b);
  if (tB) {
    const rows = s.gather(w, idx, 0); // [k, K]
    return tA ? s.matMul(rows.id, dyk, true, true) : s.matMul(dyk, rows.id, false, false);
  }
  const [K, N] = b.shape;
  // W's kept columns [K, k] through flat offsets r * N + idx[t] (see unified_graph.ts).
  const offsets = s.op1('AddV2', [s.type('T', 'int32')], [s.rowOffsets(K, N, false), s.reshape(idx, [1, k], 'int32').id]);
  const wk = s.gather(s.reshape(w, [K * N]).id, offsets.id, 0);
  return tA ? s.matMul(wk.id, dyk, false, true) : s.matMul(dyk, wk.id, false, true);
}

/** The whole backward op by op: [indices, dW, dx or values]. */
function unifiedOps(
  s: NativeScope,
  dy: TensorInfo,
  a: TensorInfo,
  b: TensorInfo,
  attrs: MePropUnifiedBackwardAttrs,
): NativeTensor[] {
  const { k, transposeA: tA, transposeB: tB, denseW, withDx } = attrs;
  const d = s.input(dy);
  const x = s.input(a);
  const [, top] = s.topK(s.columnScore(d).id, k, 'int32');
  // Ascending order: the negated indices through a sorted TopKV2 (distinct, so no ties), negated back.
  const neg = s.op1('Neg', [s.type('T', 'int32')], [top.id]);
  const [desc] = s.op('TopKV2', [s.bool('sorted', true), s.type('T', 'int32')], [neg.id, s.scalarInt32(k)], 2);
  const idx = s.op1('Neg', [s.type('T', 'int32')], [desc.id]);
  const dyk = s.gather(d, idx.id, 1); // [M, k]
  let dW: NativeTensor;
  if (!denseW) dW = s.matMul(dyk.id, x, true, tA);
  else if (tB) {
    const [N, K] = b.shape;
    dW = s.scatterNd(s.reshape(idx.id, [k, 1], 'int32').id, s.matMul(dyk.id, x, true, tA).id, [N, K]);
  } else {
    const [K, N] = b.shape;
    dW = s.denseFromColumns(s.matMul(x, dyk.id, !tA, false).id, idx.id, K, N, k);
  }
  if (!withDx) return [idx, dW, dyk];
  return [idx, dW, tB || fitsGraph(b) ? dxOps(s, dyk.id, idx.id, b, k, tA, tB) : dxAxis1(s, dyk.id, idx.id, b, tA)];
}

/** dx with W's columns gathered along axis 1 (when flat offsets would overflow int32). */
function dxAxis1(s: NativeScope, dyk: number, idx: number, b: TensorInfo, tA: boolean): NativeTensor {
  const wk = s.gather(s.input(b), idx, 1);
  return tA ? s.matMul(wk.id, dyk, false, true) : s.matMul(dyk, wk.id, false, true);
}

const unifiedBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, a, b } = inputs as Record<string, TensorInfo>;
  const at = attrs as unknown as MePropUnifiedBackwardAttrs;
  return withNativeScope(backend, (s) => {
    let out: NativeTensor[] | null = null;
    if (fitsGraph(b)) {
      const names = unifiedOutputs(at.transposeA, at.transposeB, 'dy');
      const feeds: [string, number][] = [
        ['dy', s.input(dy)],
        ['a', s.input(a)],
        ['k', s.scalarInt32(at.k)],
      ];
      if (at.withDx || at.denseW) feeds.push(...bFeeds(s, b));
      out = runGraph(s, feeds, [names.indices, at.denseW ? names.dense : names.rows, at.withDx ? names.dx : names.values]);
    }
    if (out === null) out = unifiedOps(s, dy, a, b, at);
    return out.map((t) => s.output(t));
  });
};

const gatherMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { values, indices, b } = inputs as Record<string, TensorInfo>;
  const { transposeA, transposeB } = attrs as unknown as MePropGatherMatMulAttrs;
  return withNativeScope(backend, (s) => {
    const v = s.input(values); // [M, k]
    const idx = s.input(indices);
    let out: NativeTensor[] | null = null;
    if (fitsGraph(b)) {
      const feeds: [string, number][] = [['sel_dyk', v], ['sel_idx', idx], ...bFeeds(s, b)];
      out = runGraph(s, feeds, [unifiedOutputs(transposeA, transposeB, 'fed').dx]);
    }
    if (out !== null) return s.output(out[0]);
    const dx =
      fitsGraph(b) || transposeB
        ? dxOps(s, v, idx, b, indices.shape[0], transposeA, transposeB)
        : dxAxis1(s, v, idx, b, transposeA);
    return s.output(dx);
  });
};

export const tensorflowUnifiedBackwardConfigs: KernelConfig[] = [
  { kernelName: MePropUnifiedBackward, backendName: 'tensorflow', kernelFunc: unifiedBackward },
  { kernelName: MePropGatherMatMul, backendName: 'tensorflow', kernelFunc: gatherMatMul },
];
