// A synthetic text-classification task for recurrent models: sequences of one-hot tokens, mostly noise,
// with one keyword token among the first `classes` token ids; the label is the keyword. The keyword's
// position is random, so the model has to carry it through the sequence. Used by `meprop-bench simp-lstm` and,
// through @meprop/test-utils, by @meprop/layers' meSimp tests.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@meprop/core';

export interface KeywordTask {
  x: tf.Tensor3D;
  y: tf.Tensor2D;
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `rng` (or a new generator seeded with `rng`). */
export function shuffledOrder(n: number, rng: Rng | number): Int32Array {
  const r = typeof rng === 'number' ? new Rng(rng) : rng;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function keywordSequences(n: number, steps: number, vocab: number, classes: number, seed: number): KeywordTask {
  if (vocab <= classes) throw new Error(`keywordSequences: vocab (${vocab}) must exceed classes (${classes})`);
  const rng = new Rng(seed);
  const next = (m: number): number => rng.nextInt(m);
  const x = new Float32Array(n * steps * vocab);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = next(classes);
    const at = next(steps);
    labels[i] = label;
    for (let t = 0; t < steps; t++) {
      const token = t === at ? label : classes + next(vocab - classes);
      x[(i * steps + t) * vocab + token] = 1;
    }
  }
  // Shuffled once more (Fisher-Yates) so that the order carries nothing of the generation.
  const order = shuffledOrder(n, rng);
  const xs = new Float32Array(x.length);
  const ys = new Int32Array(n);
  order.forEach((src, dst) => {
    xs.set(x.subarray(src * steps * vocab, (src + 1) * steps * vocab), dst * steps * vocab);
    ys[dst] = labels[src];
  });
  return {
    x: tf.tensor3d(xs, [n, steps, vocab]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(ys, 'int32'), classes).toFloat() as tf.Tensor2D),
  };
}

/** Accuracy in [0, 1]. */
export function classificationAccuracy(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): number {
  return tf.tidy(
    () => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(x) as tf.Tensor, -1), tf.argMax(y, -1)), 'float32')).dataSync()[0],
  );
}
