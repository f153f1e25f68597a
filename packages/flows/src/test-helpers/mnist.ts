// Binarized MNIST digits for the VAE test, from the project's one loader and split (test-utils, which
// re-exports @meprop/bench's).
import { mnistSubset } from '@meprop/test-utils';
import type { Rows } from '../train_vae';

/** Pixels > 0.5 become 1, the rest 0 (the fixed binarization, so every run sees the same data). */
export function binarize(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] > 0.5 ? 1 : 0;
  return out;
}

/** The first nTrain training and nTest test digits of the split, binarized. */
export function loadBinarizedMnist(nTrain: number, nTest: number): { train: Rows; test: Rows } {
  const data = mnistSubset(nTrain, nTest);
  const rows = (s: { images: Float32Array; n: number }): Rows => ({ values: binarize(s.images), n: s.n, dim: 784 });
  return { train: rows(data.train), test: rows(data.test) };
}
