// sparseAdagrad: Adagrad that leaves the columns without gradient (and their accumulators) untouched.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import { checkNumber, LazyOptimizer } from './lazy_optimizer';

/**
 * Lazy Adagrad. A zero gradient leaves Adagrad's weight and accumulator unchanged anyway, so the result
 * equals tf.train.adagrad's exactly (up to float rounding); skipping the columns only saves time.
 */
export class SparseAdagradOptimizer extends LazyOptimizer {
  static get className(): string {
    return 'MeProp>SparseAdagrad';
  }
  protected override readonly slotNames = ['accumulator'] as const;
  protected override readonly rule = 'adagrad' as const;
  readonly learningRate: number;
  readonly initialAccumulatorValue: number;

  constructor(learningRate: number, initialAccumulatorValue = 0.1) {
    super();
    this.learningRate = checkNumber(learningRate, 'sparseAdagrad: learningRate', 'a number > 0', (x) => x > 0);
    this.initialAccumulatorValue = checkNumber(
      initialAccumulatorValue,
      'sparseAdagrad: initialAccumulatorValue',
      'a number >= 0',
      (x) => x >= 0,
    );
  }

  protected override slotInitialValue(): number {
    return this.initialAccumulatorValue;
  }

  protected override stepAttrs() {
    return {
      learningRate: this.learningRate,
      beta1: 0,
      beta2: 0,
      epsilon: tf.backend().epsilon(),
      correction1: 1,
      correction2: 1,
    };
  }

  override getConfig(): serialization.ConfigDict {
    return { learningRate: this.learningRate, initialAccumulatorValue: this.initialAccumulatorValue };
  }

  static override fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate, config.initialAccumulatorValue);
  }
}
serialization.registerClass(SparseAdagradOptimizer);

export function sparseAdagrad(learningRate: number, initialAccumulatorValue?: number): SparseAdagradOptimizer {
  return new SparseAdagradOptimizer(learningRate, initialAccumulatorValue);
}
