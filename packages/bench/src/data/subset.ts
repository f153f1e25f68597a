import type { MnistData, MnistSplit } from './types';

function head(split: MnistSplit, n: number): MnistSplit {
  const m = Math.min(n, split.n);
  return { images: split.images.subarray(0, m * 784), labels: split.labels.subarray(0, m), n: m };
}

/** The first nTrain / nTest digits of each split (the loaders interleave classes, so prefixes stay balanced). */
export function subsetMnist(data: MnistData, nTrain: number, nTest: number): MnistData {
  if (!Number.isInteger(nTrain) || nTrain < 1) throw new Error(`nTrain must be an integer >= 1, got ${nTrain}`);
  if (!Number.isInteger(nTest) || nTest < 1) throw new Error(`nTest must be an integer >= 1, got ${nTest}`);
  const train = head(data.train, nTrain);
  const test = head(data.test, nTest);
  if (train.n === data.train.n && test.n === data.test.n) return data;
  return { train, test, source: `${data.source}, subset ${train.n} train / ${test.n} test` };
}
