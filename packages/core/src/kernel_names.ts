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
