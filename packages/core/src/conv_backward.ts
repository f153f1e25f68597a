// meProp's backward for convolutions (Wei et al., 2017: meProp for CNNs). dy [B, OH, OW, CO] keeps k of its
// CO output channels, and both gradients are computed from the kept channels only:
// - unified: the k channels with the largest Σ|dy| over the batch and positions, the same everywhere; the
//   backward is a k-channel backprop-input and backprop-filter on the gathered dy and filter slices, and the
//   filter gradient is scattered back into its k output channels (a real saving on every backend; on
//   tensorflow the selection and both products are kernels of native ops, kernels/tensorflow/conv_unified.ts);
// - per-example (per position, the paper's) and random: k channels at every example and position, with sparse
//   cpu and wasm kernels that loop over the kept entries only (kernels/host/sparse_conv_grad.ts); other
//   backends mask dy and run tfjs's dense kernels (same gradient, no saving);
// - per-sample (an ablation between the two): each example's k channels of the largest Σ|dy| over its positions,
//   at all of them. It masks dy and runs the exact kernels on every backend (no saving): measured less accurate
//   than per-position on the convnet of issue 13 (layers README), so it has no fast kernels.
import * as tf from '@tensorflow/tfjs-core';
import { keptCount } from './config';
import {
  MePropConvSelectChannels,
  MePropConvSelectChannelsAct,
  MePropConvSelectChannelsActAttrs,
  MePropConvSelectChannelsAttrs,
  MePropConvSelectPositions,
  MePropConvSelectPositionsAct,
  MePropConvSelectPositionsActAttrs,
  MePropConvSelectPositionsAttrs,
  MePropConvUnifiedBackward,
  MePropConvUnifiedBackwardAttrs,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  MePropScatterColumns,
  MePropScatterColumnsAttrs,
  MePropSparseConvGradAttrs,
  MePropSparseConvGradFilter,
  MePropSparseConvGradInput,
} from './kernel_names';
import { selectKept, topKIndices } from './kernels/host/top_k';
import { hasMePropKernels, selectEntries } from './selection';
import type { MePropRuntime } from './sparse_backward';
import { recordBackward } from './stats';

/** The attributes of a 2-D convolution, as tfjs's Conv2D kernel (and tf.fused.conv2d) take them. */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Lazily computed gradients of a convolution with respect to its input and its filter. */
export interface ConvGradThunks {
  [inputName: string]: () => tf.Tensor;
  x: () => tf.Tensor;
  filter: () => tf.Tensor;
}

function isOne(v: number | number[] | undefined): boolean {
  return v === undefined || (Array.isArray(v) ? v.every((d) => d === 1) : v === 1);
}

/** Throws for what tfjs's conv gradients do not support either (NCHW, dilations > 1), naming the value. */
export function checkConvAttrs(a: ConvAttrs, where: string): void {
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
    throw new Error(`meProp ${where}: dataFormat must be 'NHWC' (tfjs-layers always uses it), got '${a.dataFormat}'`);
  }
  if (!isOne(a.dilations)) {
    throw new Error(`meProp ${where}: dilations must be 1 in a gradient (as in tfjs), got ${JSON.stringify(a.dilations)}`);
  }
}

/** Conv2DBackpropInput: the gradient of conv2d(x, filter) with respect to x, for dy. */
function backpropInput(xShape: number[], dy: tf.Tensor, filter: tf.Tensor, a: ConvAttrs): tf.Tensor {
  if (BY_FORWARD_CONV.has(tf.getBackend())) {
    const fast = inputGradientByConv(xShape, dy, filter, a);
    if (fast !== null) return fast;
  }
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
    strides: a.strides,
    pad: a.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: a.dimRoundingMode,
    inputShape: xShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * Backends whose forward Conv2D beats their Conv2DBackpropInput on a few channels: tfjs 4.22's wasm
 * Conv2DBackpropInput is a scalar C++ loop while its Conv2D is XNNPACK (about 9× faster here); tfjs-node's
 * backprop-input with 8 of 64 channels measured slower than with all 64 (a oneDNN path), its forward conv not.
 */
const BY_FORWARD_CONV = new Set(['wasm', 'tensorflow']);

/**
 * At stride 1, dx is a forward convolution of dy with the filter flipped and its channels swapped. Null when
 * it does not apply (strides > 1, or pads wider than the filter).
 */
function inputGradientByConv(xShape: number[], dy: tf.Tensor, filter: tf.Tensor, a: ConvAttrs): tf.Tensor | null {
  if (!isOne(a.strides)) return null;
  const [FH, FW] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const p = info.padInfo;
  const pads = [FH - 1 - p.top, FH - 1 - p.bottom, FW - 1 - p.left, FW - 1 - p.right];
  if (pads.some((v) => v < 0)) return null;
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const padding: [number, number][] = [
      [0, 0],
      [pads[0], pads[1]],
      [pads[2], pads[3]],
      [0, 0],
    ];
    // tfjs-node's Conv2D takes only 'valid' and 'same': pad dy itself there.
    if (tf.getBackend() === 'tensorflow') return tf.conv2d(tf.pad(dy, padding) as tf.Tensor4D, flipped, 1, 'valid');
    return tf.conv2d(dy as tf.Tensor4D, flipped, 1, padding as tf.backend_util.ExplicitPadding);
  });
}

/** Conv2DBackpropFilter: the gradient of conv2d(x, filter) with respect to a filter of `filterShape`. */
function backpropFilter(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], a: ConvAttrs): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: a.strides,
    pad: a.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: a.dimRoundingMode,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** The exact gradients of conv2d(x, filter), as tfjs computes them. */
export function exactConv2dGrads(dy: tf.Tensor, x: tf.Tensor, filter: tf.Tensor, a: ConvAttrs): ConvGradThunks {
  return {
    x: () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
        strides: a.strides,
        pad: a.pad,
        dataFormat: 'NHWC',
        dimRoundingMode: a.dimRoundingMode,
        inputShape: x.shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    filter: () => backpropFilter(x, dy, filter.shape, a),
  };
}

/** The k shared channels and dy gathered at them, [B, OH, OW, k]. */
function unifiedChannels(dy: tf.Tensor, k: number, seed: number): { channels: tf.Tensor1D; dyK: tf.Tensor } {
  const [B, OH, OW, CO] = dy.shape;
  if (tf.getKernel(MePropConvSelectChannels, tf.getBackend()) !== undefined) {
    // tensorflow: one kernel of native ops, nothing read back.
    const attrs: MePropConvSelectChannelsAttrs = { k };
    const [channels, dyK] = tf.engine().runKernel(MePropConvSelectChannels, { dy }, attrs) as tf.Tensor[];
    return { channels: channels as tf.Tensor1D, dyK };
  }
  const dy2 = tf.reshape(dy, [B * OH * OW, CO]) as tf.Tensor2D;
  const { channels, values } = unifiedChannels2D(dy2, k, seed);
  return { channels, dyK: tf.reshape(values, [B, OH, OW, k]) };
}

/** The k shared channels (ascending) and dy gathered at them, [P, k], for dy as [P, CO]. */
function unifiedChannels2D(dy2: tf.Tensor2D, k: number, seed: number): { channels: tf.Tensor1D; values: tf.Tensor2D } {
  if (tf.getBackend() === 'wasm') {
    // Σ|dy| in wasm (SIMD), the CO scores read back (a wasm read is synchronous and cheap), top-k on the host,
    // then wasm's gather: about 5× faster than one JavaScript pass over dy on the wasm heap.
    const score = tf.sum(tf.abs(dy2), 0);
    const scores = score.dataSync();
    score.dispose();
    const idx = new Int32Array(k);
    topKIndices(
      scores.map((v) => (Number.isNaN(v) ? Infinity : v)),
      0,
      scores.length,
      k,
      idx,
      0,
      new Int32Array(k),
      new Float64Array(k),
    );
    const channels = tf.tensor1d(idx, 'int32');
    return { channels, values: tf.gather(dy2, channels, 1) as tf.Tensor2D };
  }
  if (hasMePropKernels()) {
    const sel = selectEntries(dy2, k, 'unified', seed);
    return { channels: tf.reshape(tf.slice(sel.indices, [0, 0], [1, k]), [k]) as tf.Tensor1D, values: sel.values };
  }
  // Native backends: Σ|dy| (NaN ranked largest), top-k of the CO scores and a gather, all on the device.
  // (Any order of the channels works: dy, the filter and the scatter all use the same list.)
  const idx = tf.tidy(() => {
    const score = tf.sum(tf.abs(dy2), 0);
    return tf.topk(rankKeys(score), k, true).indices as tf.Tensor1D;
  });
  return { channels: idx, values: tf.gather(dy2, idx, 1) as tf.Tensor2D };
}

/** rows [k, K] into the kept columns of a zero [K, N] matrix. */
function scatterColumns(rows: tf.Tensor2D, channels: tf.Tensor1D, N: number): tf.Tensor2D {
  if (tf.getKernel(MePropScatterColumns, tf.getBackend()) !== undefined) {
    const attrs: MePropScatterColumnsAttrs = { N, rowsOut: false };
    return tf.engine().runKernel(MePropScatterColumns, { rows, indices: channels }, attrs) as tf.Tensor2D;
  }
  return tf.transpose(tf.scatterND(tf.expandDims(channels, 1), rows, [N, rows.shape[1]])) as tf.Tensor2D;
}

/** A float32 one-hot matrix (tfjs 4.22's wasm OneHot returns zeros when asked for float32, so cast instead). */
function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices, depth), 'float32');
}

/** Ranking keys for top-k on a backend: NaN ranks above everything (+∞), so a NaN in dy is kept and propagates. */
function rankKeys(t: tf.Tensor): tf.Tensor {
  return tf.where(tf.isNaN(t), tf.fill(t.shape, Infinity), t);
}

/**
 * The 0/1 float32 mask of the keys that reach their row's threshold [R, 1]: the kept entries, found in float ops
 * only (webgpu; see maskedDy). An exact tie with the threshold keeps every tied entry.
 */
function reachingMask(keys: tf.Tensor, threshold: tf.Tensor): tf.Tensor {
  return tf.cast(tf.greaterEqual(keys, threshold), 'float32');
}

/** dy with everything but the kept entries zeroed (backends without meProp kernels, per-position modes). */
function maskedDy(dy2: tf.Tensor2D, k: number, mode: 'per-example' | 'random', seed: number): tf.Tensor2D {
  const CO = dy2.shape[1];
  if (mode === 'per-example' && tf.getBackend() === 'webgpu') {
    // tfjs 4.22's webgpu backend (Chromium 156, SwiftShader) turns the index mask below into zeros (one-hot, compare
    // or slice of the int32 indices, then a sum: every variant tried came back empty or wrong in the browser tests),
    // so webgpu keeps the entries whose |dy| reaches the smallest kept magnitude of their row, in float32 ops only.
    // The same entries as the selection, except that an exact tie with the k-th magnitude keeps every tied entry.
    const { values } = selectEntries(dy2, k, mode, seed);
    const threshold = tf.min(rankKeys(tf.abs(values)), 1, true);
    return tf.mul(dy2, reachingMask(rankKeys(tf.abs(dy2)), threshold)) as tf.Tensor2D;
  }
  if (mode === 'random' && tf.getBackend() === 'webgpu') {
    // No index mask on webgpu (above): the mask of the same draw (the kernels take random indices from this host
    // generator with this seed) is made on the host and uploaded, with no read of dy.
    const [P] = dy2.shape;
    const idx = new Int32Array(P * k);
    selectKept(new Float32Array(P * CO), P, CO, k, 'random', seed, idx, new Float32Array(P * k));
    const mask = new Float32Array(P * CO);
    for (let p = 0; p < P; p++) for (let t = 0; t < k; t++) mask[p * CO + idx[p * k + t]] = 1;
    return tf.mul(dy2, tf.tensor2d(mask, [P, CO])) as tf.Tensor2D;
  }
  // cpu/wasm: meProp's kernels (wasm's gather with batchDims crashes); native backends: their own top-k per row
  // (ties to the lower index, as ours); random: indices from the host generator.
  const indices =
    mode === 'per-example' && !hasMePropKernels()
      ? tf.topk(rankKeys(tf.abs(dy2)), k, true).indices
      : selectEntries(dy2, k, mode, seed).indices;
  return tf.mul(dy2, tf.sum(oneHotFloat(indices, CO), 1)) as tf.Tensor2D;
}

/**
 * Per-sample mode: each example's k channels with the largest Σ|dy| over its positions (NaN ranked largest,
 * ties to the lower channel), [B, k] int32.
 */
function perSampleChannels(dy: tf.Tensor, k: number): tf.Tensor2D {
  return tf.tidy(() => {
    const score = tf.sum(tf.abs(dy), [1, 2]) as tf.Tensor2D; // [B, CO]
    return tf.topk(rankKeys(score), k, true).indices as tf.Tensor2D;
  });
}

/** dy [B, OH, OW, CO] with every channel but each example's k per-sample channels zeroed. */
function perSampleMaskedDy(dy: tf.Tensor, k: number): tf.Tensor {
  const [B, , , CO] = dy.shape;
  if (tf.getBackend() === 'webgpu') {
    // As in maskedDy: no index mask on webgpu; the channels whose score reaches the k-th largest of the example.
    const keys = rankKeys(tf.sum(tf.abs(dy), [1, 2]));
    const threshold = tf.min(tf.topk(keys, k, true).values, 1, true);
    return tf.mul(dy, tf.reshape(reachingMask(keys, threshold), [B, 1, 1, CO]));
  }
  const channels = perSampleChannels(dy, k);
  const mask = tf.reshape(tf.sum(oneHotFloat(channels, CO), 1), [B, 1, 1, CO]);
  return tf.mul(dy, mask);
}

/** The kept entries of dy [P, CO] for the sparse conv loops: the backend's conv kernel for per-example, if any. */
function selectPositions(dy2: tf.Tensor2D, k: number, mode: 'unified' | 'per-example' | 'random', seed: number) {
  if (mode === 'per-example' && tf.getKernel(MePropConvSelectPositions, tf.getBackend()) !== undefined) {
    const attrs: MePropConvSelectPositionsAttrs = { k };
    const [indices, values] = tf.engine().runKernel(MePropConvSelectPositions, { dy: dy2 }, attrs) as tf.Tensor[];
    return { indices, values };
  }
  return selectEntries(dy2, k, mode, seed);
}

function sparseConvAttrs(inputShape: number[], filterShape: number[], a: ConvAttrs): MePropSparseConvGradAttrs {
  return { inputShape, filterShape, strides: a.strides, dilations: 1, pad: a.pad, dimRoundingMode: a.dimRoundingMode ?? '' };
}

/**
 * Whether the backend runs the unified k-channel products in kernels of its own (tensorflow: TensorFlow's ops
 * take 'valid'/'same' only, @meprop/tfjs-node-ops' native kernels any padding; plain tfjs-node has no other
 * way to numeric pads either).
 */
function nativeUnifiedProducts(a: ConvAttrs): boolean {
  if (tf.getKernel(MePropConvUnifiedGradInput, tf.getBackend()) === undefined) return false;
  return a.pad === 'valid' || a.pad === 'same' || tf.getBackend() === 'tensorflow';
}

/**
 * Gradients that a MePropConvUnifiedBackward call made ahead of the thunk that returns them (dW and Σdz when the
 * dx thunk ran first): kept (tfjs runs each thunk in a tidy of its own) until taken. One left untaken (a
 * gradient nobody asked for) is disposed when the next unified backward starts.
 */
const stashed = new Set<tf.Tensor>();

function stash(t: tf.Tensor): tf.Tensor {
  stashed.add(tf.keep(t));
  return t;
}

/** A stashed tensor handed to the current scope (the same data, no copy), or undefined if none is left. */
function take(t: tf.Tensor | undefined): tf.Tensor | undefined {
  if (t === undefined || !stashed.delete(t)) return undefined;
  const engine = tf.engine();
  const out = engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  engine.backend.incRef(t.dataId); // out's reference: disposing t below leaves the data to out
  t.dispose();
  return out;
}

/** Whether the backend runs the whole unified backward in one kernel (tensorflow with @meprop/tfjs-node-ops). */
function fusedUnified(a: ConvAttrs): boolean {
  return tf.getKernel(MePropConvUnifiedBackward, tf.getBackend()) !== undefined && nativeUnifiedProducts(a);
}

/**
 * Unified meProp gradients (dx, dW and, with `y`, the bias gradient of dz = dy · activation'(y)) from one
 * MePropConvUnifiedBackward call: the first thunk called runs it for its own gradient and for those of the
 * thunks tfjs calls after it (dx, then dW, then the bias), which take them from the stash. A thunk that finds
 * nothing stashed runs the kernel for its own gradient only, so any order and any subset of the thunks gives
 * the same values. dW is made ahead unless the filter is a non-trainable variable (through tfjs's tape the filter is
 * a saved copy, so there it is always made: a frozen layer's dW is computed and dropped with the stash).
 */
function fusedUnifiedThunks(
  dy: tf.Tensor,
  x: tf.Tensor,
  filter: tf.Tensor,
  y: tf.Tensor | undefined,
  activation: 'linear' | 'relu',
  a: ConvAttrs,
  k: number,
): ConvActGradThunks {
  for (const t of stashed) t.dispose();
  stashed.clear();
  const attrs: MePropConvUnifiedBackwardAttrs = {
    ...sparseConvAttrs(x.shape, filter.shape, a),
    k,
    activation,
    withDx: false,
    withDw: false,
  };
  const run = (withDx: boolean, withDw: boolean): tf.Tensor[] =>
    tf.engine().runKernel(MePropConvUnifiedBackward, { dy, y: y ?? dy, x, filter }, { ...attrs, withDx, withDw }) as tf.Tensor[];
  const filterWanted = !(filter instanceof tf.Variable) || filter.trainable;
  let dW: tf.Tensor | undefined;
  let bias: tf.Tensor | undefined;
  return {
    x: () => {
      const [dx, w, b] = run(true, filterWanted);
      if (filterWanted) dW = stash(w);
      if (y !== undefined) bias = stash(b);
      return dx;
    },
    filter: () => {
      const ready = take(dW);
      if (ready !== undefined) return ready;
      const [, w, b] = run(false, true);
      if (y !== undefined && bias === undefined) bias = stash(b);
      return w;
    },
    bias: () => take(bias) ?? run(false, false)[2],
  };
}

/**
 * The meProp gradients of y = conv2d(x, filter) (NHWC, x [B, H, W, CI], filter [FH, FW, CI, CO]) for dy.
 * Selection runs now; the products run when the thunks are called (tfjs skips dx of a model's first layer).
 */
export function mePropConv2dGradThunks(
  dy: tf.Tensor,
  x: tf.Tensor,
  filter: tf.Tensor,
  a: ConvAttrs,
  runtime: MePropRuntime,
): ConvGradThunks {
  checkConvAttrs(a, 'conv2d gradient');
  const [FH, FW, CI, CO] = filter.shape;
  const k = keptCount(runtime.config.k, CO);
  if (k >= CO) return exactConv2dGrads(dy, x, filter, a);
  const [B, OH, OW] = dy.shape;
  const P = B * OH * OW;
  const mode = runtime.config.mode;
  const seed = runtime.rng.nextUint32();
  recordBackward(P, FH * FW * CI, CO, k);
  // cpu: tfjs's own cpu conv backprops are slow scalar loops even on k channels (53 s against 1.3 s for the
  // sparse loops below, issue 13's layer under load), so unified runs the sparse loops with the shared channels.
  const sparseLoops = tf.getKernel(MePropSparseConvGradInput, tf.getBackend()) !== undefined;
  if (mode === 'per-sample') return exactConv2dGrads(perSampleMaskedDy(dy, k), x, filter, a);
  if (mode === 'unified' && fusedUnified(a)) {
    const g = fusedUnifiedThunks(dy, x, filter, undefined, 'linear', a, k);
    return { x: g.x, filter: g.filter };
  }
  if (mode === 'unified' && !(sparseLoops && tf.getBackend() === 'cpu')) {
    const { channels, dyK } = unifiedChannels(dy, k, seed);
    if (nativeUnifiedProducts(a)) {
      const attrs = sparseConvAttrs(x.shape, filter.shape, a);
      return {
        x: () => tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK, channels, filter }, attrs) as tf.Tensor,
        filter: () => tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK, channels, x }, attrs) as tf.Tensor,
      };
    }
    return {
      x: () => backpropInput(x.shape, dyK, tf.gather(filter, channels, 3), a),
      filter: () => {
        const dWk = backpropFilter(x, dyK, [FH, FW, CI, k], a); // [FH, FW, CI, k]
        const rows = tf.transpose(tf.reshape(dWk, [FH * FW * CI, k])) as tf.Tensor2D; // [k, FH·FW·CI]
        return tf.reshape(scatterColumns(rows, channels, CO), filter.shape);
      },
    };
  }
  // (A reshape costs an op on tensorflow: made only where [P, CO] is used.)
  const dy2 = tf.reshape(dy, [P, CO]) as tf.Tensor2D;
  // cpu and wasm: the sparse conv loops (tensorflow has meProp's matmul kernels, not these).
  if (sparseLoops) {
    const sel = selectPositions(dy2, k, mode, seed);
    const attrs = sparseConvAttrs(x.shape, filter.shape, a);
    return {
      x: () =>
        tf
          .engine()
          .runKernel(MePropSparseConvGradInput, { indices: sel.indices, values: sel.values, filter }, attrs) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel(MePropSparseConvGradFilter, { indices: sel.indices, values: sel.values, x }, attrs) as tf.Tensor,
    };
  }
  if (mode === 'unified') throw new Error('meProp conv2d gradient: unreachable (unified without sparse loops)');
  return exactConv2dGrads(tf.reshape(maskedDy(dy2, k, mode, seed), dy.shape), x, filter, a);
}

/** Lazily computed gradients of a convolution with bias and activation (`bias` only runs where a bias exists). */
export interface ConvActGradThunks extends ConvGradThunks {
  bias: () => tf.Tensor;
}

/**
 * The meProp gradients of y = activation(conv2d(x, filter) + bias) for dy, from the saved output y. In unified
 * mode on a backend with MePropConvSelectChannelsAct (tensorflow with @meprop/tfjs-node-ops) one kernel
 * applies the activation's derivative, selects the k channels, gathers dz there and sums the bias gradient,
 * so no dense dz is ever made (per-example likewise with MePropConvSelectPositionsAct and the sparse products);
 * elsewhere dz = dy · activation'(y) and the bias gradient Σdz are computed with tfjs ops and the backward is
 * mePropConv2dGradThunks(dz).
 */
export function mePropConv2dActGradThunks(
  dy: tf.Tensor,
  x: tf.Tensor,
  filter: tf.Tensor,
  y: tf.Tensor,
  activation: 'linear' | 'relu',
  a: ConvAttrs,
  runtime: MePropRuntime,
): ConvActGradThunks {
  checkConvAttrs(a, 'conv2d gradient');
  if (activation !== 'linear' && activation !== 'relu') {
    throw new Error(`meProp conv2d gradient: activation must be 'linear' or 'relu', got '${String(activation)}'`);
  }
  const [FH, FW, CI, CO] = filter.shape;
  const k = keptCount(runtime.config.k, CO);
  if (runtime.config.mode === 'unified' && k < CO && fusedUnified(a)) {
    const [B, OH, OW] = dy.shape;
    runtime.rng.nextUint32(); // the draw mePropConv2dGradThunks makes: the stream stays the same either way
    recordBackward(B * OH * OW, FH * FW * CI, CO, k);
    return fusedUnifiedThunks(dy, x, filter, y, activation, a, k);
  }
  const fused =
    runtime.config.mode === 'unified' &&
    k < CO &&
    tf.getKernel(MePropConvSelectChannelsAct, tf.getBackend()) !== undefined &&
    nativeUnifiedProducts(a);
  if (fused) {
    const [B, OH, OW] = dy.shape;
    runtime.rng.nextUint32(); // the draw mePropConv2dGradThunks makes: the stream stays the same either way
    recordBackward(B * OH * OW, FH * FW * CI, CO, k);
    const selAttrs: MePropConvSelectChannelsActAttrs = { k, activation };
    const [channels, dzK, biasGrad] = tf.engine().runKernel(MePropConvSelectChannelsAct, { dy, y }, selAttrs) as tf.Tensor[];
    const attrs = sparseConvAttrs(x.shape, filter.shape, a);
    return {
      x: () => tf.engine().runKernel(MePropConvUnifiedGradInput, { dyK: dzK, channels, filter }, attrs) as tf.Tensor,
      filter: () => tf.engine().runKernel(MePropConvUnifiedGradFilter, { dyK: dzK, channels, x }, attrs) as tf.Tensor,
      bias: () => biasGrad,
    };
  }
  const perPosition =
    runtime.config.mode === 'per-example' &&
    k < CO &&
    tf.getKernel(MePropConvSelectPositionsAct, tf.getBackend()) !== undefined &&
    tf.getKernel(MePropSparseConvGradInput, tf.getBackend()) !== undefined;
  if (perPosition) {
    const [B, OH, OW] = dy.shape;
    runtime.rng.nextUint32(); // as mePropConv2dGradThunks
    recordBackward(B * OH * OW, FH * FW * CI, CO, k);
    const selAttrs: MePropConvSelectPositionsActAttrs = { k, activation };
    const [indices, values, biasGrad] = tf.engine().runKernel(MePropConvSelectPositionsAct, { dy, y }, selAttrs) as tf.Tensor[];
    const attrs = sparseConvAttrs(x.shape, filter.shape, a);
    return {
      x: () => tf.engine().runKernel(MePropSparseConvGradInput, { indices, values, filter }, attrs) as tf.Tensor,
      filter: () => tf.engine().runKernel(MePropSparseConvGradFilter, { indices, values, x }, attrs) as tf.Tensor,
      bias: () => biasGrad,
    };
  }
  const dz = activation === 'relu' ? tf.mul(dy, tf.step(y)) : dy;
  const g = mePropConv2dGradThunks(dz, x, filter, a, runtime);
  return { x: g.x, filter: g.filter, bias: () => tf.sum(dz, [0, 1, 2]) };
}

/** The attributes of a depthwise convolution (tfjs's DepthwiseConv2dNative kernel). */
export type DepthwiseAttrs = ConvAttrs;

function depthwiseInput(xShape: number[], dy: tf.Tensor, filter: tf.Tensor, a: DepthwiseAttrs): tf.Tensor {
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, {
    strides: a.strides,
    pad: a.pad,
    dilations: 1,
    dimRoundingMode: a.dimRoundingMode,
    inputShape: xShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function depthwiseFilter(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], a: DepthwiseAttrs): tf.Tensor {
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, {
    strides: a.strides,
    pad: a.pad,
    dilations: 1,
    dimRoundingMode: a.dimRoundingMode,
    filterShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** The exact gradients of depthwiseConv2d(x, filter), as tfjs computes them. */
export function exactDepthwiseGrads(dy: tf.Tensor, x: tf.Tensor, filter: tf.Tensor, a: DepthwiseAttrs): ConvGradThunks {
  return { x: () => depthwiseInput(x.shape, dy, filter, a), filter: () => depthwiseFilter(x, dy, filter.shape, a) };
}

/**
 * The meProp gradients of a depthwise convolution (filter [FH, FW, CI, M], CO = CI·M output channels).
 * Unified: the k kept output channels each read one input channel, so the backward is a k-channel depthwise
 * backward (multiplier 1) on the gathered slices; a one-hot [k, CI] matmul sums it back into the input
 * channels (several kept channels may share one when M > 1). Per-example and random mask dy (documented: a
 * depthwise backward is already cheap, P·FH·FW·CO multiply-adds).
 */
export function mePropDepthwiseGradThunks(
  dy: tf.Tensor,
  x: tf.Tensor,
  filter: tf.Tensor,
  a: DepthwiseAttrs,
  runtime: MePropRuntime,
): ConvGradThunks {
  checkConvAttrs(a, 'depthwiseConv2d gradient');
  const [FH, FW, CI, M] = filter.shape;
  const CO = CI * M;
  const k = keptCount(runtime.config.k, CO);
  if (k >= CO) return exactDepthwiseGrads(dy, x, filter, a);
  const [B, OH, OW] = dy.shape;
  const P = B * OH * OW;
  const dy2 = tf.reshape(dy, [P, CO]) as tf.Tensor2D;
  const seed = runtime.rng.nextUint32();
  recordBackward(P, FH * FW, CO, k);
  if (runtime.config.mode === 'per-sample') return exactDepthwiseGrads(perSampleMaskedDy(dy, k), x, filter, a);
  if (runtime.config.mode !== 'unified') {
    return exactDepthwiseGrads(tf.reshape(maskedDy(dy2, k, runtime.config.mode, seed), dy.shape), x, filter, a);
  }
  const { channels, dyK } = unifiedChannels(dy, k, seed);
  const inChannels = tf.floorDiv(channels, tf.scalar(M, 'int32')) as tf.Tensor1D;
  const [, H, W] = x.shape;
  return {
    x: () => {
      const wK = tf.reshape(tf.gather(tf.reshape(filter, [FH, FW, CO]), channels, 2), [FH, FW, k, 1]);
      const dxK = depthwiseInput([B, H, W, k], dyK, wK, a);
      const toInput = oneHotFloat(inChannels, CI); // [k, CI]
      return tf.reshape(tf.matMul(tf.reshape(dxK, [B * H * W, k]), toInput), x.shape);
    },
    filter: () => {
      const xK = tf.gather(x, inChannels, 3);
      const dWk = depthwiseFilter(xK, dyK, [FH, FW, k, 1], a);
      const toOutput = oneHotFloat(channels, CO); // [k, CO]
      return tf.reshape(tf.matMul(tf.reshape(dWk, [FH * FW, k]), toOutput), filter.shape);
    },
  };
}
