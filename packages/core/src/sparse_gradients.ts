// Sparse weight gradients that stay sparse: a side channel from meProp's backward to an optimizer, so the
// k kept columns (or rows) of dW reach the update without the dense [in, out] gradient ever being built.
//
// tfjs's engine only moves dense gradients: every gradient function returns a tensor shaped like its input
// and the engine sums the contributions per variable. A session (opened by an optimizer around its own
// gradient computation, e.g. sparseAdam.minimize inside model.fit) changes that for one step:
//  1. after the forward pass it reads the tape and notes, for each variable of the step, every op that
//     consumes it (directly or through a reshape that only adds leading 1s), and which saved tensors of
//     those ops are copies of the variable;
//  2. in the backward, a meProp product whose weight operand is such a copy records its slices here (the
//     k gathered columns and their indices, `SparseSlices`) and returns a zero tensor to the engine instead
//     of the scattered dense gradient;
//  3. the optimizer asks `resolve(variable, denseFromEngine)`. When every consumer of the variable recorded
//     slices, the engine's gradient is only those zeros and the answer is the slices, merged (several
//     contributions, e.g. an RNN kernel used at every step, are concatenated; duplicates are summed by the
//     consumer). Otherwise some contribution is dense (a regularizer, a non-meProp use, an op outside the
//     tape's reach): the answer is the engine's gradient plus every recorded slice scattered, exactly the
//     dense gradient plain meProp would have given. Nothing is dropped in either case.
// Only gradients computed at the session's own gradient depth are recorded, so a gradient taken inside the
// loss function (a gradient penalty) gets ordinary dense gradients. Outside a session nothing changes.
import * as tf from '@tensorflow/tfjs-core';
import { MePropScatterColumns, MePropScatterColumnsAttrs } from './kernel_names';

/**
 * The k slices of a 2-D weight gradient meProp computed (TensorFlow's IndexedSlices, along either axis):
 * `rows[t]` is the dense gradient's slice `indices[t]` along `axis` (for axis 1, the column as a row).
 */
export interface SparseSlices {
  /** int32 [n]: indices along `axis`; distinct when `unique`, else duplicates must be summed. */
  indices: tf.Tensor1D;
  /** float32 [n, L]: L = the other dimension of the dense gradient. */
  rows: tf.Tensor2D;
  axis: 0 | 1;
  /** The dense gradient's shape [rows, cols]. */
  denseShape: [number, number];
  unique: boolean;
}

/** What `resolve` returns: slices (owned by the session) or a dense gradient (the caller disposes it). */
export type ResolvedGradient = { kind: 'sparse'; slices: SparseSlices } | { kind: 'dense'; grad: tf.Tensor; owned: boolean };

/** A sparse-gradient session; see the file comment. */
export interface SparseGradientSession {
  /** Wraps the loss function so the session can read the forward tape when it returns. */
  wrap<T extends tf.Tensor>(f: () => T): () => T;
  /** The gradient of `variable`, given the engine's dense gradient for it. */
  resolve(variable: tf.Variable, dense: tf.Tensor): ResolvedGradient;
  /** Ends the session and disposes what it recorded. Idempotent. */
  end(): void;
}

/** The fields of tfjs-core 4.x's TapeNode and EngineState we read (internal; a test guards them). */
interface TapeNodeLike {
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
}
interface EngineStateLike {
  activeTape: TapeNodeLike[] | null;
  gradientDepth: number;
}

function engineState(): EngineStateLike {
  return tf.engine().state as unknown as EngineStateLike;
}

/** Where meProp's backward hands slices: one per claimable weight operand. */
export interface SparseGradientSink {
  /** Records the slices and returns a zero tensor shaped like the variable, to give the engine. */
  accept(indices: tf.Tensor1D, rows: tf.Tensor2D, axis: 0 | 1): tf.Tensor;
}

interface Target {
  variable: tf.Variable;
}

/**
 * Zero tensors the engine receives in place of dense weight gradients, one per shape, kept between sessions
 * (allocating and clearing a [784, 500] zero every step costs more than the sparse update). Owned by whoever
 * opens the sessions (an optimizer); `dispose()` frees them.
 */
export class SparseGradientZeros {
  private readonly byShape = new Map<string, tf.Tensor>();

  get(shape: number[]): tf.Tensor {
    const key = shape.join('x');
    let z = this.byShape.get(key);
    if (z === undefined || z.isDisposed) {
      z = tf.keep(tf.fill(shape, 0, 'float32'));
      this.byShape.set(key, z);
    }
    return z;
  }

  dispose(): void {
    tf.dispose([...this.byShape.values()]);
    this.byShape.clear();
  }
}

class Session implements SparseGradientSession {
  private readonly variables: Map<number, tf.Variable>;
  private readonly depth: number;
  /** Saved tensor (a copy of a variable, kept by the engine for an op's backward) -> its variable. */
  private readonly claims = new Map<tf.Tensor, Target>();
  /** Variable id -> number of (op, input) pairs consuming it (or a same-layout view of it) on the tape. */
  private readonly consumers = new Map<number, number>();
  private readonly recorded = new Map<number, Array<{ indices: tf.Tensor1D; rows: tf.Tensor2D; axis: 0 | 1 }>>();
  private readonly zeros: SparseGradientZeros;
  private readonly ownsZeros: boolean;
  private readonly merged: tf.Tensor[] = [];
  private tapeRead = false;
  active = true;

  constructor(variables: readonly tf.Variable[], zeros: SparseGradientZeros | undefined) {
    this.variables = new Map(variables.map((v) => [v.id, v]));
    this.depth = engineState().gradientDepth;
    this.ownsZeros = zeros === undefined;
    this.zeros = zeros ?? new SparseGradientZeros();
  }

  wrap<T extends tf.Tensor>(f: () => T): () => T {
    return () => {
      const y = f();
      this.readTape();
      return y;
    };
  }

  private readTape(): void {
    const tape = engineState().activeTape;
    if (tape === null || !Array.isArray(tape)) return;
    this.tapeRead = true;
    const views = new Map<number, tf.Variable>(); // tensor id -> variable it is an identical view of
    for (const v of this.variables.values()) views.set(v.id, v);
    const saved = new Set<tf.Tensor>();
    for (const node of tape) for (const s of node.saved ?? []) saved.add(s);
    // The engine saves copies of an op's inputs for its backward and tapes each copy (input x -> output);
    // the copy's origin is read from there, which holds on every backend (wasm copies the data).
    const origin = new Map<tf.Tensor, tf.Tensor>();
    for (const node of tape) {
      // Copies the engine made to save for a backward: never consumers of their own.
      if (node.outputs.length === 1 && saved.has(node.outputs[0])) {
        const src = Object.values(node.inputs)[0];
        if (src !== undefined) origin.set(node.outputs[0], src);
        continue;
      }
      const names = Object.keys(node.inputs);
      const viewOf = (t: tf.Tensor | undefined) => (t === undefined ? undefined : views.get(t.id));
      // A reshape that only adds leading 1s (tf.fused.matMul's [K, N] -> [1, K, N]) keeps the same layout.
      if ((node.kernelName === 'Reshape' || node.kernelName === 'Identity') && names.length === 1 && node.outputs.length === 1) {
        const v = viewOf(node.inputs[names[0]]);
        const out = node.outputs[0];
        if (v !== undefined && sameLayout(out.shape, v.shape)) {
          views.set(out.id, v);
          continue;
        }
      }
      for (const name of names) {
        const input = node.inputs[name];
        const v = viewOf(input);
        if (v === undefined) continue;
        this.consumers.set(v.id, (this.consumers.get(v.id) ?? 0) + 1);
        for (const s of node.saved ?? []) {
          if (origin.get(s) === input && sameLayout(s.shape, v.shape)) this.claims.set(s, { variable: v });
        }
      }
    }
  }

  /** The sink for a weight operand saved by an op, when this session collects that variable's slices. */
  sinkFor(saved: tf.Tensor): SparseGradientSink | null {
    if (!this.active || engineState().gradientDepth !== this.depth) return null;
    const target = this.claims.get(saved);
    if (target === undefined) return null;
    const v = target.variable;
    return {
      accept: (indices, rows, axis) => {
        const list = this.recorded.get(v.id) ?? [];
        list.push({ indices: tf.keep(tf.clone(indices)), rows: tf.keep(rows), axis });
        this.recorded.set(v.id, list);
        return tf.clone(this.zeros.get(v.shape)); // the engine disposes its copy, not the cached zero
      },
    };
  }

  resolve(variable: tf.Variable, dense: tf.Tensor): ResolvedGradient {
    const list = this.recorded.get(variable.id) ?? [];
    if (list.length === 0) return { kind: 'dense', grad: dense, owned: false };
    const consumers = this.consumers.get(variable.id) ?? 0;
    const [R, C] = variable.shape as [number, number];
    if (this.tapeRead && consumers === list.length && list.every((c) => c.axis === list[0].axis)) {
      const axis = list[0].axis;
      const slices: SparseSlices =
        list.length === 1
          ? { indices: list[0].indices, rows: list[0].rows, axis, denseShape: [R, C], unique: true }
          : {
              indices: this.own(tf.concat(list.map((c) => c.indices))) as tf.Tensor1D,
              rows: this.own(tf.concat(list.map((c) => c.rows))) as tf.Tensor2D,
              axis,
              denseShape: [R, C],
              unique: false,
            };
      return { kind: 'sparse', slices };
    }
    // Some contribution is dense: add every recorded slice to it (the engine's sum holds zeros for them).
    const grad = tf.tidy(() => list.reduce((acc, c) => tf.add(acc, scatterSlices(c.indices, c.rows, c.axis, [R, C])), dense));
    return { kind: 'dense', grad, owned: true };
  }

  private own<T extends tf.Tensor>(t: T): T {
    this.merged.push(tf.keep(t));
    return t;
  }

  end(): void {
    if (!this.active) return;
    this.active = false;
    const i = sessions.indexOf(this);
    if (i >= 0) sessions.splice(i, 1);
    for (const list of this.recorded.values()) for (const c of list) tf.dispose([c.indices, c.rows]);
    tf.dispose(this.merged);
    if (this.ownsZeros) this.zeros.dispose();
    this.recorded.clear();
    this.merged.length = 0;
    this.claims.clear();
  }
}

/** Whether `shape` is `base` with leading 1s (the same row-major layout). */
function sameLayout(shape: number[], base: number[]): boolean {
  if (shape.length < base.length) return false;
  const lead = shape.length - base.length;
  for (let i = 0; i < lead; i++) if (shape[i] !== 1) return false;
  return base.every((d, i) => d === shape[lead + i]);
}

/** The dense [R, C] gradient of one contribution's slices (distinct indices), zeros elsewhere. */
function scatterSlices(indices: tf.Tensor1D, rows: tf.Tensor2D, axis: 0 | 1, denseShape: [number, number]): tf.Tensor2D {
  const [R, C] = denseShape;
  if (tf.getKernel(MePropScatterColumns, tf.getBackend()) !== undefined) {
    const attrs: MePropScatterColumnsAttrs = { N: axis === 0 ? R : C, rowsOut: axis === 0 };
    return tf.engine().runKernel(MePropScatterColumns, { rows, indices }, attrs) as tf.Tensor2D;
  }
  const other = axis === 0 ? C : R;
  const scattered = tf.scatterND(tf.expandDims(indices, 1), rows, [axis === 0 ? R : C, other]);
  return (axis === 0 ? scattered : tf.transpose(scattered)) as tf.Tensor2D;
}

const sessions: Session[] = [];

/**
 * Opens a sparse-gradient session for `variables` (for optimizers: see the file comment). End it with
 * `end()` in a `finally`, after the update. `zeros`: a cache to reuse the engine's zero gradients across
 * sessions (an optimizer keeps one for its lifetime); without it each session allocates and frees its own.
 */
export function beginSparseGradients(variables: readonly tf.Variable[], zeros?: SparseGradientZeros): SparseGradientSession {
  if (!Array.isArray(variables) || variables.some((v) => !(v instanceof tf.Variable))) {
    throw new Error('beginSparseGradients: variables must be an array of tf.Variable');
  }
  if (zeros !== undefined && !(zeros instanceof SparseGradientZeros)) {
    throw new Error(`beginSparseGradients: zeros must be a SparseGradientZeros or undefined, got ${typeof zeros}`);
  }
  const s = new Session(variables, zeros);
  sessions.push(s);
  return s;
}

/** For meProp's backward: the sink for the saved weight operand `b`, or null (then return dense). */
export function sparseGradientSink(b: tf.Tensor): SparseGradientSink | null {
  for (let i = sessions.length - 1; i >= 0; i--) {
    const sink = sessions[i].sinkFor(b);
    if (sink !== null) return sink;
  }
  return null;
}
