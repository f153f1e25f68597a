// The lazy optimizers' update rules as TensorFlow ops on raw handles (tfjs-node), shared by the sparse step
// (gathered slices) and the dense lazy step: the same operations in the same order as the cpu kernel.
import type { NativeScope } from '@meprop/core';
import type { LazyRule, LazyStepParams } from '../kernels/kernel_names';

export function binary(s: NativeScope, op: string, a: number, b: number): number {
  return s.op1(op, [s.type('T', 'float32')], [a, b]).id;
}

export function unary(s: NativeScope, op: string, a: number): number {
  return s.op1(op, [s.type('T', 'float32')], [a]).id;
}

/**
 * The rule on gathered slices [n, L]: the amount to subtract from the weight, and the slots after the step
 * (the same operations in the same order as the cpu kernel: w -= delta).
 */
export function step(
  s: NativeScope,
  a: LazyStepParams & { rule: LazyRule },
  g: number,
  slots: number[],
): { delta: number; slots: number[] } {
  const mul = (x: number, y: number) => binary(s, 'Mul', x, y);
  const add = (x: number, y: number) => binary(s, 'AddV2', x, y);
  const div = (x: number, y: number) => binary(s, 'RealDiv', x, y);
  // Hyper-parameters as cached constants (they rarely change); the bias corrections change every step.
  const c = (v: number) => s.scalarFloat32(v);
  const t = (v: number) => s.float32(v);
  if (a.rule === 'adam') {
    const [m, v] = slots;
    const m2 = add(mul(m, c(a.beta1)), mul(g, c(1 - a.beta1)));
    const v2 = add(mul(v, c(a.beta2)), mul(mul(g, g), c(1 - a.beta2)));
    return {
      delta: div(
        mul(c(a.learningRate), div(m2, t(a.correction1))),
        add(unary(s, 'Sqrt', div(v2, t(a.correction2))), c(a.epsilon)),
      ),
      slots: [m2, v2],
    };
  }
  if (a.rule === 'adagrad') {
    const acc2 = add(slots[0], mul(g, g));
    return { delta: div(mul(c(a.learningRate), g), unary(s, 'Sqrt', add(acc2, c(a.epsilon)))), slots: [acc2] };
  }
  return { delta: mul(c(a.learningRate), g), slots: [] };
}
