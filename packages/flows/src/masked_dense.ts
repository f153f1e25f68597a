// A Dense layer whose kernel is multiplied by a fixed 0/1 mask (MADE, Germain et al. 2015).
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, LayerVariable } from '@tensorflow/tfjs-layers';
import { applyActivation, assertActivation, FlowActivation } from './activation';
import { assertInt, describeValue } from './validate';
import { baseLayerArgs, FlowLayerArgs } from './layer_args';

/** x @ (kernel * mask) + bias: the one formula every masked layer of the package uses. */
export function maskedLinear(x: tf.Tensor2D, kernel: tf.Tensor2D, mask: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y: tf.Tensor2D = tf.matMul(x, tf.mul(kernel, mask) as tf.Tensor2D);
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}

/** Throws unless `mask` is a non-empty rectangular array of 0/1 entries; returns [rows, cols]. */
export function assertMask(name: string, mask: unknown): [number, number] {
  const rect =
    Array.isArray(mask) &&
    mask.length > 0 &&
    mask.every((r) => Array.isArray(r) && r.length > 0 && r.length === (mask[0] as unknown[]).length);
  if (!rect) throw new Error(`${name} must be a non-empty rectangular [inputs][units] array, got ${describeValue(mask)}`);
  const rows = mask as unknown[][];
  rows.forEach((r, i) =>
    r.forEach((v, j) => {
      if (v !== 0 && v !== 1) throw new Error(`${name}[${i}][${j}] must be 0 or 1, got ${describeValue(v)}`);
    }),
  );
  return [rows.length, rows[0].length];
}

/** A glorot-uniform initializer, seeded when a seed is given (weights of the same seed are reproducible). */
export function glorot(seed: number | undefined): ReturnType<typeof initializers.glorotUniform> {
  return seed === undefined ? initializers.glorotUniform({}) : initializers.glorotUniform({ seed });
}

/** Fills a (non-trainable) weight with fixed values, e.g. a mask, right after `addWeight` created it. */
export function writeConstant(weight: LayerVariable, values: number[][]): void {
  tf.tidy(() => {
    weight.write(tf.tensor2d(values));
  });
}

export interface MaskedDenseArgs extends FlowLayerArgs {
  /** [inputs][units] 0/1 mask; units is its column count. */
  mask: number[][];
  activation?: FlowActivation;
  useBias?: boolean;
  /** Seed of the kernel initializer. */
  seed?: number;
}

export class MaskedDense extends layers.Layer {
  static className = 'MePropFlows>MaskedDense';
  readonly mask: number[][];
  readonly units: number;
  readonly activation: FlowActivation;
  readonly useBias: boolean;
  readonly seed: number | undefined;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;
  private maskWeight: LayerVariable | null = null;

  constructor(args: MaskedDenseArgs) {
    super(baseLayerArgs(args, 'masked_dense'));
    const [, units] = assertMask('mask', args.mask);
    const activation = args.activation ?? 'linear';
    assertActivation('activation', activation);
    if (args.seed !== undefined) assertInt('seed', args.seed, 0);
    this.mask = args.mask.map((r) => r.slice());
    this.units = units;
    this.activation = activation;
    this.useBias = args.useBias ?? true;
    this.seed = args.seed;
  }

  override build(inputShape: tf.serialization.ConfigDictValue | (number | null)[] | (number | null)[][]): void {
    const shape = inputShape as (number | null)[];
    const inDim = shape[shape.length - 1];
    if (inDim !== this.mask.length) {
      throw new Error(`mask has ${this.mask.length} rows but the input of ${this.name} has ${inDim} features`);
    }
    this.kernel = this.addWeight('kernel', [inDim, this.units], 'float32', glorot(this.seed));
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', initializers.zeros());
    // The mask is kept as a non-trainable weight too, so saved weights carry it next to the kernel it cuts.
    this.maskWeight = this.addWeight('mask', [inDim, this.units], 'float32', initializers.zeros(), undefined, false);
    writeConstant(this.maskWeight, this.mask);
    this.built = true;
  }

  override computeOutputShape(inputShape: (number | null)[]): (number | null)[] {
    return [...inputShape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const y = maskedLinear(
        x,
        this.kernel!.read() as tf.Tensor2D,
        this.maskWeight!.read() as tf.Tensor2D,
        this.bias ? (this.bias.read() as tf.Tensor1D) : undefined,
      );
      return applyActivation(y, this.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      mask: this.mask,
      activation: this.activation,
      useBias: this.useBias,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(MaskedDense);

export function maskedDense(args: MaskedDenseArgs): MaskedDense {
  return new MaskedDense(args);
}
