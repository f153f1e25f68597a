import * as tf from '@tensorflow/tfjs';
import { mePropify } from '@meprop/layers';
import { describeEachBackend } from '@meprop/test-utils';
import { SeededDropout } from './seeded_dropout';
import { buildMlp, PAPER_DROPOUT } from './mlp';

/** The mask a training call applied: 1 where the input was kept. */
function maskOf(layer: tf.layers.Layer, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    return tf.cast(tf.notEqual(y, 0), 'float32').dataSync() as Float32Array;
  });
}

describeEachBackend('SeededDropout', () => {
  const x = tf.ones([64, 200]);
  afterAll(() => x.dispose());

  it("tfjs's own seeded Dropout repeats its mask at every call (why this layer exists)", () => {
    const d = tf.layers.dropout({ rate: 0.5, seed: 3 });
    expect(Array.from(maskOf(d, x))).toEqual(Array.from(maskOf(d, x)));
  });

  it('draws a new mask at every training call, the same sequence for the same seed, dropping about `rate`', () => {
    const a = new SeededDropout({ rate: 0.1, seed: 7 });
    const b = new SeededDropout({ rate: 0.1, seed: 7 });
    const a1 = maskOf(a, x);
    const a2 = maskOf(a, x);
    expect(Array.from(a1)).not.toEqual(Array.from(a2));
    expect(Array.from(maskOf(b, x))).toEqual(Array.from(a1));
    expect(Array.from(maskOf(b, x))).toEqual(Array.from(a2));
    const dropped = 1 - a1.reduce((s, v) => s + v, 0) / a1.length;
    expect(Math.abs(dropped - 0.1)).toBeLessThan(0.02); // 12,800 draws: 4 standard deviations
    expect(Array.from(maskOf(new SeededDropout({ rate: 0.1, seed: 8 }), x))).not.toEqual(Array.from(a1));
  });

  it('scales kept inputs by 1 / (1 - rate), is the identity at inference, and back-propagates through the mask', () => {
    const d = new SeededDropout({ rate: 0.25, seed: 1 });
    const input = tf.randomUniform([8, 30], -1, 1, 'float32', 4);
    const y = d.apply(input, { training: true }) as tf.Tensor;
    const yv = y.dataSync();
    const xv = input.dataSync();
    for (let i = 0; i < yv.length; i++) expect([0, xv[i] / 0.75].some((v) => Math.abs(yv[i] - v) < 1e-6)).toBe(true);
    expect(Array.from((d.apply(input) as tf.Tensor).dataSync())).toEqual(Array.from(xv));
    // d/dx sum(w * dropout(x)) = w * mask / (1 - rate): compare with the mask of a fresh layer of the same seed.
    const w = tf.randomUniform([8, 30], -1, 1, 'float32', 5);
    const fresh = new SeededDropout({ rate: 0.25, seed: 1 });
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(w, fresh.apply(v, { training: true }) as tf.Tensor)))(input);
    const mask = tf.cast(tf.notEqual(y, 0), 'float32');
    expect(tf.max(tf.abs(tf.sub(g, tf.div(tf.mul(w, mask), 0.75)))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([input, y, w, g, mask]);
  });

  it('rejects a bad rate or seed, naming it', () => {
    expect(() => new SeededDropout({ rate: 1, seed: 1 })).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => new SeededDropout({ rate: 0.1, seed: 1.5 })).toThrow(/seed must be an integer, got 1.5/);
  });

  it("survives mePropify (serialization): the paper MLP's copy drops the same units at the same steps", () => {
    const plain = buildMlp([50, 50], 2, 'paper');
    expect(plain.layers.map((l) => l.getClassName())).toEqual([
      'Dense',
      SeededDropout.className,
      'Dense',
      SeededDropout.className,
      'Dense',
    ]);
    const { model } = mePropify(plain, { k: 5 });
    const copy = model.layers[1] as SeededDropout;
    expect([copy.rate, copy.seed]).toEqual([PAPER_DROPOUT, (plain.layers[1] as SeededDropout).seed]);
    const h = tf.ones([4, 50]);
    expect(Array.from(maskOf(copy, h))).toEqual(Array.from(maskOf(plain.layers[1], h)));
    h.dispose();
    model.dispose();
    plain.dispose();
  });
});

describe('buildMlp protocols', () => {
  it('paper: weights and biases in U(-1/sqrt(fan_out), 1/sqrt(fan_out)); quick: Glorot, zero biases, no dropout', () => {
    const paper = buildMlp([500, 500], 1, 'paper');
    const [k1, b1] = paper.layers[0].getWeights();
    const bound = 1 / Math.sqrt(500);
    const maxAbs = (t: tf.Tensor): number => tf.max(tf.abs(t)).dataSync()[0];
    for (const t of [k1, b1]) {
      expect(maxAbs(t)).toBeLessThanOrEqual(bound);
      // Uniform on the interval: the largest |value| of hundreds of draws comes close to the bound.
      expect(maxAbs(t)).toBeGreaterThan(0.9 * bound);
    }
    const quick = buildMlp([500, 500], 1);
    expect(quick.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dense']);
    expect(maxAbs(quick.layers[0].getWeights()[1])).toBe(0);
    // Glorot uniform for 784 -> 500: limit sqrt(6 / 1284) = 0.068, well above the paper's 0.045.
    expect(maxAbs(quick.layers[0].getWeights()[0])).toBeGreaterThan(0.06);
    paper.dispose();
    quick.dispose();
  });
});
