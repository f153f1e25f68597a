// What IafFlow and MafFlow share: a stack of MADE-based steps whose weights are owned by one layer.
import { layers } from '@tensorflow/tfjs-layers';
import { assertInputShapes, Made } from './autoregressive_network';

export abstract class MadeStackLayer<T extends { readonly made: Made }> extends layers.Layer {
  /** The steps, in forward order; set by the subclass constructor. */
  protected abstract readonly transforms: T[];

  get eventSize(): number {
    return this.transforms[0].made.spec.eventSize;
  }

  get contextSize(): number {
    return this.transforms[0].made.spec.contextSize;
  }

  override build(inputShape: unknown): void {
    const { eventSize, contextSize } = this.transforms[0].made.spec;
    assertInputShapes(inputShape, eventSize, contextSize);
    this.transforms.forEach((t, k) =>
      t.made.build((n, s, i, tr) => this.addWeight(n, s, 'float32', i, undefined, tr), `step_${k}/`),
    );
    this.built = true;
  }
}
