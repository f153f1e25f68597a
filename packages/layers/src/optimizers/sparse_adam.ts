// sparseAdam: Adam that leaves the columns without gradient (and their m and v) untouched.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { checkNumber, LazyOptimizer } from './lazy_optimizer';

/**
 * Lazy Adam. For a 2-D weight, columns whose gradient is all zero are skipped: their weights, m and v stay
 * as they were (m and v do NOT decay for them, unlike tf.train.adam, where a zero gradient still shrinks m
 * and v and keeps moving the weight by the remaining momentum). Bias correction uses the optimizer's global
 * step t, not a per-column count. When every column gets a gradient the step equals tf.train.adam's.
 */
export class SparseAdamOptimizer extends LazyOptimizer {
  static get className(): string {
    return 'MeProp>SparseAdam';
  }
  protected override readonly slotNames = ['m', 'v'] as const;
  protected override readonly rule = 'adam' as const;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super();
    this.learningRate = checkNumber(learningRate, 'sparseAdam: learningRate', 'a number > 0', (x) => x > 0);
    this.beta1 = checkNumber(beta1, 'sparseAdam: beta1', 'a number in [0, 1)', (x) => x >= 0 && x < 1);
    this.beta2 = checkNumber(beta2, 'sparseAdam: beta2', 'a number in [0, 1)', (x) => x >= 0 && x < 1);
    this.epsilon =
      epsilon == null ? tf.backend().epsilon() : checkNumber(epsilon, 'sparseAdam: epsilon', 'a number > 0', (x) => x > 0);
  }

  protected override stepAttrs(step: number) {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: 1 - Math.pow(this.beta1, step),
      correction2: 1 - Math.pow(this.beta2, step),
    };
  }

  override getConfig(): serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static override fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate, config.beta1, config.beta2, config.epsilon);
  }
}
serialization.registerClass(SparseAdamOptimizer);

/** Like tf.train.adam(learningRate, beta1, beta2, epsilon), with the lazy column update. */
export function sparseAdam(learningRate?: number, beta1?: number, beta2?: number, epsilon?: number): SparseAdamOptimizer {
  return new SparseAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
