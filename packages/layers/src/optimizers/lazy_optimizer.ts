// The shared machinery of the sparse (lazy) optimizers: per-variable slots, the kernel call, save/load.
import * as tf from '@tensorflow/tfjs-core';
import { LazyRule, LazyStepParams, MePropLazyUpdate, MePropLazyUpdateAttrs } from '../kernels/kernel_names';
import { compositeLazyUpdate } from './composite_update';
import { registeredVariable } from '../tfjs_internals';

/** A named tensor, as tfjs's optimizers save their weights. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Throws unless v is a finite number satisfying `ok`; names the argument in the message. */
export function checkNumber(v: unknown, name: string, expected: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new Error(`${name} must be ${expected}, got ${typeof v === 'number' ? v : JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

/**
 * An optimizer whose update of a 2-D weight skips the columns whose gradient column is entirely zero:
 * their weights and slots are left untouched (TensorFlow's LazyAdam, per column). Other weights (biases,
 * rank != 2) get the ordinary dense update. On cpu and wasm the step is one kernel per weight looping over
 * typed arrays; elsewhere it is composed from tfjs ops (same results, no speed-up).
 */
export abstract class LazyOptimizer extends tf.Optimizer {
  /** Slot suffixes in save order (Adam: ['m', 'v']); the saved names are `${variableName}/${suffix}`. */
  protected abstract readonly slotNames: readonly string[];
  protected abstract readonly rule: LazyRule;
  private slots = new Map<string, Slot[]>();

  /** The value a new slot starts from (Adagrad's initial accumulator). */
  protected slotInitialValue(): number {
    return 0;
  }

  /** The kernel attrs of this step besides shapes (learning rate, betas, bias corrections). */
  protected abstract stepAttrs(step: number): LazyStepParams;

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: Array<[string, tf.Tensor]> = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor] as [string, tf.Tensor])
      : Object.entries(variableGradients);
    const base = this.stepAttrs(this.iterations + 1);
    const useKernel = tf.getKernel(MePropLazyUpdate, tf.getBackend()) !== undefined;
    for (const [name, grad] of entries) {
      if (grad == null) continue;
      const value = registeredVariable(name);
      if (value === undefined) throw new Error(`${this.getClassName()}.applyGradients: no variable named '${name}'`);
      const slots = this.slotsFor(name, value);
      tf.tidy(() => {
        const lazy = value.rank === 2;
        const cols = lazy ? value.shape[1] : value.size;
        const attrs: MePropLazyUpdateAttrs = { ...base, rule: this.rule, rows: lazy ? (value.shape[0] as number) : 1, cols: cols as number, lazy };
        const g = grad.dtype === 'float32' ? grad : tf.cast(grad, 'float32');
        let next: tf.Tensor[];
        if (useKernel && value.dtype === 'float32') {
          const inputs: tf.NamedTensorMap = { value, grad: g };
          slots.forEach((s, i) => (inputs[`slot${i}`] = s.variable));
          next = tf.engine().runKernel(MePropLazyUpdate, inputs, attrs) as tf.Tensor[];
        } else {
          next = compositeLazyUpdate(value, g, slots.map((s) => s.variable), attrs);
        }
        value.assign(next[0]);
        slots.forEach((s, i) => s.variable.assign(next[i + 1]));
      });
    }
    this.incrementIterations();
  }

  private slotsFor(name: string, value: tf.Variable): Slot[] {
    let s = this.slots.get(name);
    if (s === undefined) {
      const init = this.slotInitialValue();
      s = this.slotNames.map((suffix) => ({
        originalName: `${name}/${suffix}`,
        variable: tf.tidy(() => tf.fill(value.shape, init, 'float32').variable(false)),
      }));
      this.slots.set(name, s);
    }
    return s;
  }

  override dispose(): void {
    super.dispose();
    for (const s of this.slots.values()) s.forEach((x) => x.variable.dispose());
    this.slots.clear();
  }

  /** [iterations, then every variable's first slot, then every variable's second slot] (tfjs's order). */
  override async getWeights(): Promise<NamedTensor[]> {
    const all = [...this.slots.values()];
    const ordered = this.slotNames.flatMap((_, i) => all.map((s) => ({ name: s[i].originalName, tensor: s[i].variable as tf.Tensor })));
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
      s[i] = { originalName: name, variable: tensor.variable(false) };
    }
  }
}
