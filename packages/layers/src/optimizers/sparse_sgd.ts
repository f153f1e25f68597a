// sparseSgd: SGD that only visits the columns that received a gradient.
import { serialization } from '@tensorflow/tfjs-core';
import { checkNumber, LazyOptimizer } from './lazy_optimizer';

/** Lazy SGD: the same result as tf.train.sgd (a zero gradient changes nothing); skipping saves time. */
export class SparseSgdOptimizer extends LazyOptimizer {
  static get className(): string {
    return 'MeProp>SparseSGD';
  }
  protected override readonly slotNames = [] as const;
  protected override readonly rule = 'sgd' as const;
  readonly learningRate: number;

  constructor(learningRate: number) {
    super();
    this.learningRate = checkNumber(learningRate, 'sparseSgd: learningRate', 'a number > 0', (x) => x > 0);
  }

  protected override stepAttrs() {
    return { learningRate: this.learningRate, beta1: 0, beta2: 0, epsilon: 0, correction1: 1, correction2: 1 };
  }

  override getConfig(): serialization.ConfigDict {
    return { learningRate: this.learningRate };
  }

  static override fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    return new cls(config.learningRate);
  }
}
serialization.registerClass(SparseSgdOptimizer);

export function sparseSgd(learningRate: number): SparseSgdOptimizer {
  return new SparseSgdOptimizer(learningRate);
}
