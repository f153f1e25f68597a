// The shared machinery of the sparse (lazy) optimizers: per-variable slots, the kernel call, save/load.
import * as tf from '@tensorflow/tfjs-core';
import { beginSparseGradients, NativeVariable, SparseGradientZeros } from '@meprop/core';
import type { SparseGradientSession, SparseSlices } from '@meprop/core';
import { LazyRule, LazyStepParams, MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernels/kernel_names';
import { compositeLazyUpdate } from './composite_update';
import './tensorflow_lazy_update';
import {
  hasInPlaceSparseLazyUpdate,
  hasSparseLazyUpdate,
  MePropSparseLazyUpdate,
  MePropSparseLazyUpdateAttrs,
  MePropSparseLazyUpdateInPlace,
  MePropSparseLazyUpdateInPlaceAttrs,
  readNativeVariable,
} from './sparse_update_kernel';
import { allRegisteredVariables, registeredVariable } from '../tfjs_internals';

/** A named tensor, as tfjs's optimizers save their weights. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/**
 * An optimizer slot (Adam's m or v, Adagrad's accumulator), held either as a tfjs variable (for the dense
 * step, in the weight's own layout) or as a TensorFlow resource variable updated in place (for the sparse
 * step on `tensorflow`, transposed when the slices are columns). Exactly one of the two is set.
 */
interface Slot {
  originalName: string;
  variable: tf.Variable | null;
  native: NativeVariable | null;
  /** Stored as [cols, rows] (the sparse step along columns keeps slots that way; see sparse_update_kernel). */
  transposed: boolean;
}

/**
 * The slot as a tfjs variable, stored transposed or not as asked (the weight's own layout by default: for the
 * dense step and for saving; transposed for the tensor-slot sparse step along columns, see sparse_update_kernel).
 */
function tfjsSlot(slot: Slot, transposed = false): tf.Variable {
  if (slot.native !== null) {
    const native = slot.native;
    slot.variable = tf.tidy(() => readNativeVariable(native).variable(false));
    native.dispose();
    slot.native = null;
  }
  if (slot.transposed !== transposed) {
    const old = slot.variable!;
    slot.variable = tf.tidy(() => tf.transpose(old).variable(false));
    old.dispose();
    slot.transposed = transposed;
  }
  return slot.variable!;
}

/** The slot as a resource variable in the wanted layout (one copy when it changes: steps rarely alternate). */
function nativeSlot(slot: Slot, transposed: boolean): NativeVariable {
  if (slot.native !== null && slot.transposed === transposed) return slot.native;
  const value = tfjsSlot(slot);
  const t = transposed ? tf.transpose(value) : value;
  let native: NativeVariable;
  try {
    native = new NativeVariable(tf.backend(), t);
  } finally {
    if (t !== value) t.dispose();
  }
  value.dispose();
  slot.variable = null;
  slot.native = native;
  slot.transposed = transposed;
  return native;
}

function disposeSlot(slot: Slot): void {
  slot.variable?.dispose();
  slot.native?.dispose();
  slot.variable = null;
  slot.native = null;
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
      const slotVars = slots.map((sl) => tfjsSlot(sl));
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
            slotVars.forEach((v, i) => (inputs[`slot${i}`] = v));
            next = tf.engine().runKernel(MePropLazyUpdate, inputs, attrs) as tf.Tensor[];
          } else {
            next = compositeLazyUpdate(value, g, slotVars, attrs);
          }
          value.assign(next[0]);
          slotVars.forEach((v, i) => v.assign(next[i + 1]));
        });
      } finally {
        if (resolved !== null && resolved.kind === 'dense' && resolved.owned) resolved.grad.dispose();
      }
    }
    this.incrementIterations();
  }

  /** The lazy step from slices: only the slices' columns (or rows) of the weight and its slots change. */
  private sparseStep(value: tf.Variable, slots: Slot[], slices: SparseSlices, base: LazyStepParams): void {
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
    if (hasInPlaceSparseLazyUpdate()) {
      // tensorflow: the slots are resource variables updated in place; the kernel returns the new weight.
      const inPlace: MePropSparseLazyUpdateInPlaceAttrs = {
        ...attrs,
        slots: slots.map((sl) => nativeSlot(sl, slices.axis === 1)),
      };
      tf.tidy(() => {
        const next = tf
          .engine()
          .runKernel(MePropSparseLazyUpdateInPlace, inputs, inPlace as unknown as tf.NamedAttrMap) as tf.Tensor[];
        value.assign(next[0]);
      });
      return;
    }
    // webgl, webgpu: the slots are tfjs variables (transposed for columns); the kernel returns weight and slots.
    const slotVars = slots.map((sl) => tfjsSlot(sl, slices.axis === 1));
    tf.tidy(() => {
      slotVars.forEach((v, i) => (inputs[`slot${i}`] = v));
      const next = tf.engine().runKernel(MePropSparseLazyUpdate, inputs, attrs) as tf.Tensor[];
      value.assign(next[0]);
      slotVars.forEach((v, i) => v.assign(next[i + 1]));
    });
  }

  private slotsFor(name: string, value: tf.Variable): Slot[] {
    let s = this.slots.get(name);
    if (s === undefined) {
      const init = this.slotInitialValue();
      s = this.slotNames.map((suffix) => ({
        originalName: `${name}/${suffix}`,
        variable: tf.tidy(() => tf.fill(value.shape, init, 'float32').variable(false)),
        native: null,
        transposed: false,
      }));
      this.slots.set(name, s);
    }
    return s;
  }

  override dispose(): void {
    super.dispose();
    this.sparseZeros.dispose();
    for (const s of this.slots.values()) s.forEach(disposeSlot);
    this.slots.clear();
  }

  /** [iterations, then every variable's first slot, then every variable's second slot] (tfjs's order). */
  override async getWeights(): Promise<NamedTensor[]> {
    const all = [...this.slots.values()];
    // Saved in the weight's own layout, as tfjs variables (a resource-variable slot is read back once).
    const ordered = this.slotNames.flatMap((_, i) =>
      all.map((s) => ({ name: s[i].originalName, tensor: tfjsSlot(s[i]) as tf.Tensor })),
    );
    return [await this.saveIterations(), ...ordered];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    for (const s of this.slots.values()) s.forEach(disposeSlot);
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
      s[i] = { originalName: name, variable: tensor.variable(false), native: null, transposed: false };
    }
  }
}
