// The shared machinery of the sparse (lazy) optimizers: per-variable slots, the kernel call, save/load.
import * as tf from '@tensorflow/tfjs-core';
import { beginSparseGradients, SparseGradientZeros } from '@meprop/core';
import type { SparseGradientSession, SparseSlices } from '@meprop/core';
import { LazyRule, LazyStepParams, MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernels/kernel_names';
import { compositeLazyUpdate } from './composite_update';
import './tensorflow_lazy_update';
import { hasSparseLazyUpdate, MePropSparseLazyUpdate, MePropSparseLazyUpdateAttrs } from './sparse_update_kernel';
import { allRegisteredVariables, registeredVariable } from '../tfjs_internals';

/** A named tensor, as tfjs's optimizers save their weights. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
  /** Stored as [cols, rows] (the sparse step along columns keeps slots that way; see sparse_update_kernel). */
  transposed: boolean;
}

/** Puts a slot in the wanted layout (one transpose when it changes: sparse and dense steps rarely alternate). */
function layout(slot: Slot, transposed: boolean): void {
  if (slot.transposed === transposed) return;
  const old = slot.variable;
  slot.variable = tf.tidy(() => tf.transpose(old).variable(false));
  old.dispose();
  slot.transposed = transposed;
}

/** Throws unless v is a finite number satisfying `ok`; names the argument in the message. */
export function checkNumber(v: unknown, name: string, expected: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new Error(`${name} must be ${expected}, got ${typeof v === 'number' ? v : (JSON.stringify(v) ?? String(v))}`);
  }
  return v;
}

/**
 * An optimizer whose update of a 2-D weight skips the columns whose gradient column is entirely zero:
 * their weights and slots are left untouched (TensorFlow's LazyAdam, per column). Other weights (biases,
 * rank != 2) get the ordinary dense update. On cpu and wasm the step is one kernel per weight looping over
 * typed arrays; on webgl and webgpu a few shader programs (kernels/gpu); elsewhere it is composed from tfjs
 * ops (same results, no speed-up).
 */
export abstract class LazyOptimizer extends tf.Optimizer {
  /** Slot suffixes in save order (Adam: ['m', 'v']); the saved names are `${variableName}/${suffix}`. */
  protected abstract readonly slotNames: readonly string[];
  protected abstract readonly rule: LazyRule;
  private slots = new Map<string, Slot[]>();
  /** The zero gradients the engine gets for weights whose gradients stay sparse (kept, like the slots). */
  private readonly sparseZeros = new SparseGradientZeros();

  /** The value a new slot starts from (Adagrad's initial accumulator). */
  protected slotInitialValue(): number {
    return 0;
  }

  /** The kernel attrs of this step besides shapes (learning rate, betas, bias corrections). */
  protected abstract stepAttrs(step: number): LazyStepParams;

  /**
   * As tf.Optimizer.minimize (model.fit calls it). On backends with a sparse step (tensorflow, webgl, webgpu), the
   * gradients are computed in a sparse-gradient session of @meprop/core: the weights whose every gradient
   * contribution came from a unified meProp product receive the k kept slices instead of a dense gradient,
   * and only those slices are updated. Everything else (biases, exact layers, mixed contributions) gets the
   * ordinary dense lazy step, with the same numbers.
   */
  override minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    if (!hasSparseLazyUpdate()) return super.minimize(f, returnCost, varList);
    const vars = varList ?? allRegisteredVariables().filter((v) => v.trainable);
    const session = beginSparseGradients(vars, this.sparseZeros);
    try {
      const { value, grads } = tf.variableGrads(session.wrap(f), varList);
      try {
        const entries: Array<[string, tf.Tensor]> =
          varList !== undefined ? varList.map((v) => [v.name, grads[v.name]]) : Object.entries(grads);
        this.applyEntries(entries, session);
      } finally {
        tf.dispose(grads);
      }
      if (returnCost) return value;
      value.dispose();
      return null;
    } finally {
      session.end();
    }
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: Array<[string, tf.Tensor]> = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor] as [string, tf.Tensor])
      : Object.entries(variableGradients);
    this.applyEntries(entries, null);
  }

  private applyEntries(entries: Array<[string, tf.Tensor]>, session: SparseGradientSession | null): void {
    const base = this.stepAttrs(this.iterations + 1);
    const useKernel = tf.getKernel(MePropLazyUpdate, tf.getBackend()) !== undefined;
    for (const [name, grad] of entries) {
      if (grad == null) continue;
      const value = registeredVariable(name);
      if (value === undefined) throw new Error(`${this.getClassName()}.applyGradients: no variable named '${name}'`);
      const slots = this.slotsFor(name, value);
      const resolved = session === null ? null : session.resolve(value, grad);
      if (resolved !== null && resolved.kind === 'sparse') {
        this.sparseStep(value, slots, resolved.slices, base);
        continue;
      }
      const dense = resolved === null ? grad : resolved.grad;
      slots.forEach((sl) => layout(sl, false));
      try {
        tf.tidy(() => {
          const lazy = value.rank === 2;
          const cols = lazy ? value.shape[1] : value.size;
          const attrs: MePropLazyUpdateAttrs = {
            ...base,
            rule: this.rule,
            rows: lazy ? (value.shape[0] as number) : 1,
            cols: cols as number,
            lazy,
          };
          const g = dense.dtype === 'float32' ? dense : tf.cast(dense, 'float32');
          let next: tf.Tensor[];
          if (useKernel && value.dtype === 'float32') {
            const inputs: tf.NamedTensorMap = { value, grad: g };
            slots.forEach((s, i) => (inputs[`slot${i}`] = s.variable));
            next = tf.engine().runKernel(MePropLazyUpdate, inputs, attrs) as tf.Tensor[];
          } else {
            next = compositeLazyUpdate(
              value,
              g,
              slots.map((s) => s.variable),
              attrs,
            );
          }
          value.assign(next[0]);
          slots.forEach((s, i) => s.variable.assign(next[i + 1]));
        });
      } finally {
        if (resolved !== null && resolved.kind === 'dense' && resolved.owned) resolved.grad.dispose();
      }
    }
    this.incrementIterations();
  }

  /** The lazy step from slices: only the slices' columns (or rows) of the weight and its slots change. */
  private sparseStep(value: tf.Variable, slots: Slot[], slices: SparseSlices, base: LazyStepParams): void {
    slots.forEach((sl) => layout(sl, slices.axis === 1));
    tf.tidy(() => {
      const [rows, cols] = value.shape as [number, number];
      const attrs: MePropSparseLazyUpdateAttrs = {
        ...base,
        rule: this.rule,
        rows,
        cols,
        lazy: true,
        axis: slices.axis,
        unique: slices.unique,
      };
      const inputs: tf.NamedTensorMap = { value, indices: slices.indices, rows: slices.rows };
      slots.forEach((s, i) => (inputs[`slot${i}`] = s.variable));
      const next = tf.engine().runKernel(MePropSparseLazyUpdate, inputs, attrs) as tf.Tensor[];
      value.assign(next[0]);
      slots.forEach((s, i) => s.variable.assign(next[i + 1]));
    });
  }

  private slotsFor(name: string, value: tf.Variable): Slot[] {
    let s = this.slots.get(name);
    if (s === undefined) {
      const init = this.slotInitialValue();
      s = this.slotNames.map((suffix) => ({
        originalName: `${name}/${suffix}`,
        variable: tf.tidy(() => tf.fill(value.shape, init, 'float32').variable(false)),
        transposed: false,
      }));
      this.slots.set(name, s);
    }
    return s;
  }

  override dispose(): void {
    super.dispose();
    this.sparseZeros.dispose();
    for (const s of this.slots.values()) s.forEach((x) => x.variable.dispose());
    this.slots.clear();
  }

  /** [iterations, then every variable's first slot, then every variable's second slot] (tfjs's order). */
  override async getWeights(): Promise<NamedTensor[]> {
    const all = [...this.slots.values()];
    for (const s of all) s.forEach((x) => layout(x, false)); // saved in the weight's own layout
    const ordered = this.slotNames.flatMap((_, i) =>
      all.map((s) => ({ name: s[i].originalName, tensor: s[i].variable as tf.Tensor })),
    );
    return [await this.saveIterations(), ...ordered];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    for (const s of this.slots.values()) s.forEach((x) => x.variable.dispose());
    this.slots.clear();
    for (const { name, tensor } of rest) {
      const cut = name.lastIndexOf('/');
      const varName = name.slice(0, cut);
      const i = this.slotNames.indexOf(name.slice(cut + 1));
      if (cut < 0 || i < 0) throw new Error(`${this.getClassName()}.setWeights: unexpected weight name '${name}'`);
      let s = this.slots.get(varName);
      if (s === undefined) {
        s = new Array<Slot>(this.slotNames.length);
        this.slots.set(varName, s);
      }
      s[i] = { originalName: name, variable: tensor.variable(false), transposed: false };
    }
  }
}
