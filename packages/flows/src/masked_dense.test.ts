import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { maskedDense } from './masked_dense';
import { roundTrip } from './test-helpers/save_load';

describeEachBackend('MaskedDense', () => {
  const mask = [
    [1, 0, 1],
    [0, 1, 1],
  ];

  it('computes x @ (W ⊙ M) + b', () => {
    const layer = maskedDense({ mask, seed: 1 });
    const x = tf.tensor2d([
      [0.5, -2],
      [1.5, 3],
    ]);
    const y = layer.apply(x) as tf.Tensor;
    const [w, b] = layer.getWeights().map((t) => t.arraySync() as number[] & number[][]);
    const want = [
      [0.5, -2],
      [1.5, 3],
    ].map((row) => [0, 1, 2].map((c) => row[0] * w[0][c] * mask[0][c] + row[1] * w[1][c] * mask[1][c] + (b as number[])[c]));
    const got = y.arraySync() as number[][];
    got.forEach((r, i) => r.forEach((v, c) => expect(v).toBeCloseTo(want[i][c], 5)));
    // A masked-out weight has no effect at all: changing it leaves the output unchanged.
    const w2 = (layer.getWeights()[0].arraySync() as number[][]).map((r) => r.slice());
    w2[0][1] += 10;
    layer.setWeights([tf.tensor2d(w2), ...layer.getWeights().slice(1)]);
    expect((layer.apply(x) as tf.Tensor).arraySync()).toEqual(got);
  });

  it('saves and reloads to identical outputs, mask included', async () => {
    const input = tf.input({ shape: [2] });
    const model = tf.model({
      inputs: input,
      outputs: maskedDense({ mask, activation: 'tanh' }).apply(input) as tf.SymbolicTensor,
    });
    const x = tf.randomNormal([4, 2], 0, 1, 'float32', 3);
    const { loaded, topology } = await roundTrip(model);
    expect(topology).toContain('MePropFlows>MaskedDense');
    expect(topology).toContain(JSON.stringify(mask));
    expect((loaded.predict(x) as tf.Tensor).arraySync()).toEqual((model.predict(x) as tf.Tensor).arraySync());
  });

  it('rejects bad masks and mismatched inputs', () => {
    expect(() => maskedDense({ mask: [[1, 2]] })).toThrow(/mask\[0\]\[1\] must be 0 or 1, got 2/);
    expect(() => maskedDense({ mask: [[1], [1, 0]] })).toThrow(/mask must be a non-empty rectangular/);
    expect(() => maskedDense({ mask: [[1]], activation: 'cube' as 'relu' })).toThrow(/activation must be one of .*got 'cube'/);
    expect(() => maskedDense({ mask }).apply(tf.zeros([1, 3]))).toThrow(/mask has 2 rows but the input .* has 3 features/);
  });
});
