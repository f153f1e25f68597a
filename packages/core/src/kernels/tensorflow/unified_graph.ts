// meProp's unified backward as one TensorFlow graph (see native_graph.ts for why a graph), for every layout
// of y = op(a) @ op(b). The nodes, from dy [M, N], a, b and k:
//   selection: Σ|dy| over the rows → int32 ranking keys (NaN first, see NativeScope.rankKeys) → TopKV2 →
//     the k column indices, sorted ascending (a second TopKV2 on their negation: reading W's kept columns
//     in address order is 1.3-1.6x faster at 1024²) → dy's kept columns dyk [M, k];
//   dx: W's kept columns times dyk. W [K, N] (b as stored) is read through flat offsets r * N + idx[t] with
//     one GatherV2 over the flattened matrix: 1.7x (500²) and 2.6x (1024²) faster than GatherV2 along axis 1;
//     Wᵀ [N, K] (b transposed) gives contiguous rows;
//   dW: the k slices (rows [k, K] = dykᵀ @ op(a)), or the dense gradient shaped like b (zeros and the k
//     slices, written by SparseToDense at the same flat offsets, or ScatterNd of rows).
// A second entry point computes dx alone from a selection made earlier (placeholders `sel_idx`, `sel_dyk`).
// Whenever b is fed, so are `b_shape`, `b_size_vec` and `b_row_offsets` (see bFeeds).
// Placeholders have unknown shapes: the graph serves every shape. The session runs only what the fetched
// outputs need.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { TfBinding } from '../../tfjs_internals';
import type { NativeScope } from './native_ops';
import { GraphAttr, GraphBuilder, graphAttrs, loadNativeGraph, NativeGraph } from './native_graph';

/** Where the selection comes from: made in the graph from dy, or fed (a selection made earlier). */
type Source = 'dy' | 'fed';

function layout(transposeA: boolean, transposeB: boolean): string {
  return `${transposeA ? 'ta' : 'a'}_${transposeB ? 'tb' : 'b'}`;
}

/** Node names of the outputs, for one layout and source. */
export function unifiedOutputs(
  transposeA: boolean,
  transposeB: boolean,
  source: Source,
): { indices: string; values: string; dx: string; rows: string; dense: string } {
  const p = `${source}_${layout(transposeA, transposeB)}`;
  return {
    indices: source === 'dy' ? 'dy_idx' : 'sel_idx',
    values: source === 'dy' ? 'dy_dyk' : 'sel_dyk',
    dx: `${p}_dx`,
    rows: `${p}_rows`,
    dense: `${p}_dense`,
  };
}

const I32: GraphAttr = { type: 'int32' };
const F32: GraphAttr = { type: 'float32' };

function buildGraph(): GraphBuilder {
  const g = new GraphBuilder();
  const c0 = g.constant('c0', 0, 'int32');
  const c1 = g.constant('c1', 1, 'int32');
  const cm1 = g.constant('cm1', -1, 'int32');
  const f0 = g.constant('f0', 0, 'float32');
  const flatShape = g.node('flat_shape', 'ExpandDims', [cm1, c0], { T: I32, Tdim: I32 }); // [-1]
  const reshape = (name: string, x: string, shape: string, dtype: 'float32' | 'int32'): string =>
    g.node(name, 'Reshape', [x, shape], { T: { type: dtype }, Tshape: I32 });
  const expand = (name: string, x: string, axis: string, dtype: 'float32' | 'int32'): string =>
    g.node(name, 'ExpandDims', [x, axis], { T: { type: dtype }, Tdim: I32 });

  const dy = g.placeholder('dy', 'float32');
  const a = g.placeholder('a', 'float32');
  const b = g.placeholder('b', 'float32');
  const k = g.placeholder('k', 'int32');

  // Selection from dy.
  const abs = g.node('dy_abs', 'Abs', [dy], graphAttrs.t('float32'));
  const colSum = g.node('dy_sum', 'Sum', [abs, c0], { T: F32, Tidx: I32, keep_dims: { bool: false } });
  const keys = g.node('dy_keys', 'Bitcast', [colSum], { T: F32, type: I32 });
  const top = g.node('dy_top', 'TopKV2', [keys, k], { T: I32, sorted: { bool: false } });
  const neg = g.node('dy_neg', 'Neg', [`${top}:1`], graphAttrs.t('int32'));
  const ascending = g.node('dy_sort', 'TopKV2', [neg, k], { T: I32, sorted: { bool: true } });
  g.node('dy_idx', 'Neg', [ascending], graphAttrs.t('int32'));
  g.node('dy_dyk', 'GatherV2', [dy, 'dy_idx', c1], graphAttrs.gather('float32'));
  // A selection fed from outside.
  g.placeholder('sel_idx', 'int32');
  g.placeholder('sel_dyk', 'float32');

  // b's shape [2], its size as [1] and the offsets r * cols of its rows as a column [rows, 1]: fed from
  // constants cached per shape (computing them here took five more nodes per run); b flattened.
  const bShape = g.placeholder('b_shape', 'int32');
  const bSizeVec = g.placeholder('b_size_vec', 'int32');
  const rowOffsets = g.placeholder('b_row_offsets', 'int32');
  const bFlat = reshape('b_flat', b, flatShape, 'float32');

  for (const source of ['dy', 'fed'] as Source[]) {
    const idx = source === 'dy' ? 'dy_idx' : 'sel_idx';
    const dyk = source === 'dy' ? 'dy_dyk' : 'sel_dyk';
    // Flat offsets [K, k] of W's kept columns when b = W [K, N]: row offset + column index.
    const colOffsets = g.node(`${source}_col_offsets`, 'AddV2', [rowOffsets, expand(`${source}_idx_row`, idx, c0, 'int32')], {
      T: I32,
    });
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const out = unifiedOutputs(tA, tB, source);
        const p = `${source}_${layout(tA, tB)}`;
        // dx [M, K] (or dxᵀ [K, M] when a is stored transposed).
        if (!tB) {
          const wk = g.node(`${p}_wk`, 'GatherV2', [bFlat, colOffsets, c0], graphAttrs.gather('float32')); // [K, k]
          g.node(out.dx, 'MatMul', tA ? [wk, dyk] : [dyk, wk], graphAttrs.matMul(false, true));
        } else {
          const wr = g.node(`${p}_wr`, 'GatherV2', [b, idx, c0], graphAttrs.gather('float32')); // [k, K]
          g.node(out.dx, 'MatMul', tA ? [wr, dyk] : [dyk, wr], graphAttrs.matMul(tA, tA));
        }
        if (source === 'fed') continue;
        // dW's slices as rows [k, K] = dykᵀ @ op(a).
        const rows = g.node(out.rows, 'MatMul', [dyk, a], graphAttrs.matMul(true, tA));
        // The dense gradient of b: zeros and the k slices.
        if (!tB) {
          const cols = g.node(`${p}_cols`, 'MatMul', [a, dyk], graphAttrs.matMul(!tA, false)); // [K, k]
          const flat = g.node(
            `${p}_dense_flat`,
            'SparseToDense',
            [
              reshape(`${p}_off_flat`, colOffsets, flatShape, 'int32'),
              bSizeVec,
              reshape(`${p}_cols_flat`, cols, flatShape, 'float32'),
              f0,
            ],
            { T: F32, Tindices: I32, validate_indices: { bool: false } },
          );
          reshape(out.dense, flat, bShape, 'float32');
        } else {
          g.node(out.dense, 'ScatterNd', [expand(`${p}_idx_col`, idx, c1, 'int32'), rows, bShape], { T: F32, Tindices: I32 });
        }
      }
    }
  }
  return g;
}

/** The feeds for b: its handle and the shape constants the graph takes instead of computing them. */
export function bFeeds(s: NativeScope, b: TensorInfo): [string, number][] {
  const [rows, cols] = b.shape;
  return [
    ['b', s.input(b)],
    ['b_shape', s.constInt32([2], [rows, cols])],
    ['b_size_vec', s.constInt32([1], [rows * cols])],
    ['b_row_offsets', s.rowOffsets(rows, cols, false)],
  ];
}

const graphs = new WeakMap<object, NativeGraph | null>();
let enabled = true;
let lastError: string | null = null;

/**
 * Turns the graph path off (or back on) for this process: the kernels then run op by op, with the same
 * results. For tests, and as a switch should a libtensorflow build misbehave.
 */
export function setUnifiedGraphEnabled(on: boolean): void {
  enabled = on;
}

function noteError(what: string, e: unknown): void {
  lastError = `${what}: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Why the graph path is not in use, if it failed (null otherwise): the kernels then run op by op, with the
 * same results, more slowly. For diagnostics and tests.
 */
export function unifiedGraphError(): string | null {
  return lastError;
}

/** The unified-backward graph, loaded once per binding; null when it cannot be (then the op-by-op path). */
export function unifiedGraph(binding: TfBinding): NativeGraph | null {
  if (!enabled) return null;
  if (!graphs.has(binding)) {
    graphs.set(
      binding,
      loadNativeGraph(binding, buildGraph(), (e) => noteError('could not load the unified-backward graph', e)),
    );
  }
  return graphs.get(binding) ?? null;
}

/** After a failed run: stop using the graph (the caller falls back to its op-by-op path). */
export function dropUnifiedGraph(binding: TfBinding, e: unknown): void {
  noteError('a unified-backward graph run failed', e);
  const g = graphs.get(binding);
  graphs.set(binding, null);
  if (g) {
    try {
      g.dispose();
    } catch {
      // Already gone: nothing to free.
    }
  }
}
