// Names and attributes of the kernels @meprop/core registers with tfjs's kernel registry.
import type { NamedAttrMap } from '@tensorflow/tfjs-core';

/** Selects the kept entries of a 2-D dy: outputs [indices int32 [M, k], values float32 [M, k]]. */
export const MePropSelect = 'MePropSelect';
export interface MePropSelectAttrs extends NamedAttrMap {
  k: number;
  mode: 'per-example' | 'unified' | 'random';
  /** uint32 seed for `random` mode (drawn per call from the config's generator). */
  seed: number;
}

/** da from the kept entries: inputs {indices, values, b}; output shaped like a. */
export const MePropSparseGradA = 'MePropSparseGradA';
/** db from the kept entries: inputs {indices, values, a}; output shaped like b. */
export const MePropSparseGradB = 'MePropSparseGradB';
export interface MePropSparseGradAttrs extends NamedAttrMap {
  transposeA: boolean;
  transposeB: boolean;
  /** Rows M, inner K, and output columns N of the forward product X[M,K] @ W[K,N]. */
  M: number;
  K: number;
  N: number;
  /** All rows keep the same columns (unified mode). */
  shared: boolean;
}

/**
 * Scatters k rows [k, K] into the kept columns of a zero [K, N] matrix (or the kept rows of [N, K] when
 * `rowsOut`): the last step of the unified backward. Inputs {rows, indices [k]}.
 */
export const MePropScatterColumns = 'MePropScatterColumns';
export interface MePropScatterColumnsAttrs extends NamedAttrMap {
  N: number;
  rowsOut: boolean;
}

/**
 * y = op(a) @ op(b), the forward of `mePropMatMul`: tf.matMul's result (tfjs's own BatchMatMul kernel of the
 * backend, unless a faster one is registered under this name). It is a kernel of its own so that its
 * registered gradient can return lazy thunks: tfjs then skips the product for an input that needs no
 * gradient (dx of a model's first layer). Inputs {a, b}.
 */
export const MePropMatMul = 'MePropMatMul';
export interface MePropMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  /** The meProp config and random stream of this call; read by the gradient only, never by a kernel. */
  runtime: import('./sparse_backward').MePropRuntime;
}

/**
 * Unified selection without a host read: the k columns of dy with the largest Σ|dy| over the rows (NaN
 * ranks highest). Inputs {dy [M, N]}; outputs [indices int32 [k] (in no particular order), values [M, k]].
 */
export const MePropSelectColumns = 'MePropSelectColumns';
export interface MePropSelectColumnsAttrs extends NamedAttrMap {
  k: number;
}

/**
 * da of the unified backward: the kept columns of dy times the matching columns of op(b)ᵀ, gathered in the
 * kernel. Inputs {values [M, k], indices [k], b}; output shaped like a.
 */
export const MePropGatherMatMul = 'MePropGatherMatMul';
export interface MePropGatherMatMulAttrs extends NamedAttrMap {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * dW of the unified backward in one kernel: the k slices [k, K] = valuesᵀ @ op(a), and, when `dense`, their
 * scatter into a gradient shaped like b. Inputs {values [M, k], indices [k], a}; output rows or dW.
 */
export const MePropUnifiedGradB = 'MePropUnifiedGradB';
export interface MePropUnifiedGradBAttrs extends NamedAttrMap {
  transposeA: boolean;
  transposeB: boolean;
  N: number;
  dense: boolean;
}

/**
 * The whole unified backward of y = op(a) @ op(b) in one kernel (tensorflow): the k shared columns of dy
 * (ranked by Σ|dy| over the rows, NaN first), sorted ascending, and from them dW, and dx when `withDx`.
 * Inputs {dy [M, N], a, b}. Outputs [indices [k], dW, dx] with `withDx`, else [indices [k], dW, values
 * [M, k]] (dy's kept columns, for MePropGatherMatMul later: dx only when the engine asks for it). dW is the
 * k slices as rows [k, K] (`denseW` false) or the dense gradient shaped like b.
 */
export const MePropUnifiedBackward = 'MePropUnifiedBackward';
export interface MePropUnifiedBackwardAttrs extends NamedAttrMap {
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  denseW: boolean;
  withDx: boolean;
}

/**
 * The per-example backward of y = op(a) @ op(b) in one kernel (tensorflow): the top k of |dy| in each row
 * (NaN first, ties to the lower index), ascending per row, and from them dW (shaped like b), and dx when
 * `withDx`. Inputs {dy [M, N], a, b}. Outputs [indices [M, k], dW, dx] with `withDx`, else [indices [M, k],
 * dW, values [M, k]] (dy at the kept entries, for MePropSparseGradA later: dx only when the engine asks for it).
 */
export const MePropPerExampleBackward = 'MePropPerExampleBackward';
export interface MePropPerExampleBackwardAttrs extends NamedAttrMap {
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  withDx: boolean;
}

/**
 * tf.gather(x, indices, axis) of a 2-D x along axis 0 (rows) or 1 (columns): the k kept columns of the weight
 * in the unified backward. On webgl it reads x packed, so a packed weight is not unpacked whole to take k
 * columns of it. Inputs {x, indices [k]}.
 */
export const MePropGatherColumns = 'MePropGatherColumns';
export interface MePropGatherColumnsAttrs extends NamedAttrMap {
  axis: 0 | 1;
}

/**
 * Per-position meProp conv backward from the kept entries of dy [B, OH, OW, CO] (k channels per position):
 * inputs {indices [P, k], values [P, k], filter} → dx shaped `inputShape`.
 */
export const MePropSparseConvGradInput = 'MePropSparseConvGradInput';
/** ... inputs {indices, values, x} → dW shaped `filterShape`. */
export const MePropSparseConvGradFilter = 'MePropSparseConvGradFilter';
export interface MePropSparseConvGradAttrs extends NamedAttrMap {
  inputShape: number[];
  filterShape: number[];
  strides: number | number[];
  dilations: number | number[];
  pad: 'valid' | 'same' | number | number[][];
  /** 'floor' | 'round' | 'ceil', or '' for tfjs's default. */
  dimRoundingMode: string;
}

/**
 * Unified meProp conv backward, selection: inputs {dy [B, OH, OW, CO]} → [channels [k] int32, dyK [B, OH, OW, k]]
 * (the k output channels with the largest Σ|dy|, NaN ranked first, and dy there). Backends with native conv ops.
 */
export const MePropConvSelectChannels = 'MePropConvSelectChannels';
export interface MePropConvSelectChannelsAttrs extends NamedAttrMap {
  k: number;
}
/**
 * Per-position selection of a conv backward: inputs {dy [P, CO]} → [indices [P, k] int32 (ascending in each row),
 * values [P, k]]: at every position the k channels of the largest |dy| (NaN first, ties to the lower channel),
 * as MePropSelect's per-example mode. Backends with native ops (tensorflow with @meprop/tfjs-node-ops).
 */
export const MePropConvSelectPositions = 'MePropConvSelectPositions';
export interface MePropConvSelectPositionsAttrs extends NamedAttrMap {
  k: number;
}
/**
 * MePropConvSelectPositions fused with a conv layer's activation and bias backward: inputs {dy, y} → [indices,
 * values, biasGrad [CO]] for dz = dy · activation'(y) (as MePropConvSelectChannelsAct), per position.
 */
export const MePropConvSelectPositionsAct = 'MePropConvSelectPositionsAct';
export type MePropConvSelectPositionsActAttrs = MePropConvSelectChannelsActAttrs;

/**
 * Unified selection fused with a conv layer's activation and bias backward: inputs {dy, y} (dy of the layer's
 * output y = activation(conv + bias)) → [channels [k] int32, dzK [B, OH, OW, k], biasGrad [CO]] where
 * dz = dy · activation'(y) (dy where y > 0 for 'relu'; dy for 'linear', y unread), the k channels those of the
 * largest Σ|dz| (NaN first), and biasGrad = Σdz over every axis but the last. Backends with native ops only.
 */
export const MePropConvSelectChannelsAct = 'MePropConvSelectChannelsAct';
export interface MePropConvSelectChannelsActAttrs extends NamedAttrMap {
  k: number;
  activation: 'linear' | 'relu';
}
/** ... dx: inputs {dyK, channels, filter} → dx shaped `inputShape` (attrs as MePropSparseConvGradAttrs). */
export const MePropConvUnifiedGradInput = 'MePropConvUnifiedGradInput';
/** ... dW: inputs {dyK, channels, x} → the dense filter gradient shaped `filterShape`, zero outside the k channels. */
export const MePropConvUnifiedGradFilter = 'MePropConvUnifiedGradFilter';
/**
 * The whole unified conv backward in one kernel: inputs {dy [B, OH, OW, CO], y (read with 'relu' only), x, filter}
 * → [dx shaped like x (shape [0] without `withDx`), dW shaped like filter, zero outside the k channels (shape [0]
 * without `withDw`), biasGrad [CO]]: the selection of MePropConvSelectChannelsAct and the products of
 * MePropConvUnifiedGradInput / MePropConvUnifiedGradFilter, the same values, in one call. Backends with native ops.
 */
export const MePropConvUnifiedBackward = 'MePropConvUnifiedBackward';
export interface MePropConvUnifiedBackwardAttrs extends MePropSparseConvGradAttrs {
  k: number;
  activation: 'linear' | 'relu';
  withDx: boolean;
  withDw: boolean;
}

/**
 * y = conv2d(x, filter) or depthwiseConv2d(x, filter) (NHWC), the forward of `mePropConv2d` /
 * `mePropDepthwiseConv2d`: the backend's own Conv2D or DepthwiseConv2dNative kernel. A kernel of its own so that
 * its registered gradient returns lazy thunks and tfjs skips dx where no gradient flows (a model's first
 * layer), as it does for its own convolutions. Inputs {x, filter}.
 */
export const MePropConv2D = 'MePropConv2D';
export interface MePropConv2DAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  depthwise: boolean;
  /**
   * Set (conv2d only): y = activation(conv2d(x, filter) + bias), run by the backend's FusedConv2D kernel (inputs
   * {x, filter, bias?}); the backward gets dz = dy · activation'(y) and the bias gradient from the selection
   * (MePropConvSelectChannelsAct where the backend has it). Unset: y = conv2d(x, filter).
   */
  activation?: 'linear' | 'relu';
  /** The meProp config and random stream of this call; read by the gradient only, never by a kernel. */
  runtime: import('./sparse_backward').MePropRuntime;
}
