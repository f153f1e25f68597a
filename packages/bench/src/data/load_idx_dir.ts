// Loads the four standard MNIST IDX files (plain or gzip) from a directory: the full 60k/10k split.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { IdxFormatError } from './idx_format_error';
import { parseIdxImages, parseIdxLabels } from './idx';
import type { MnistData, MnistSplit } from './types';

/** The four files, by their usual names; `train-images.idx3-ubyte` (dot spelling) is accepted too. */
export const MNIST_IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function candidates(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  const names = [base, `${base}.gz`];
  if (dotted !== base) names.push(dotted, `${dotted}.gz`);
  return names;
}

/** Finds one of the spellings of `base` in `dir`; the error lists every name tried. */
export function findIdxFile(dir: string, base: string): string {
  for (const name of candidates(base)) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`--data-dir ${dir}: no ${base} file (tried ${candidates(base).join(', ')})`);
}

/** Reads a file, gunzipping it when it starts with the gzip magic bytes 1f 8b. */
export function readMaybeGzip(file: string): Uint8Array {
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (e) {
      throw new IdxFormatError(file, `corrupt gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}

function loadSplit(dir: string, imagesBase: string, labelsBase: string): MnistSplit {
  const imagesFile = findIdxFile(dir, imagesBase);
  const labelsFile = findIdxFile(dir, labelsBase);
  const { images, n } = parseIdxImages(readMaybeGzip(imagesFile), imagesFile);
  const labels = parseIdxLabels(readMaybeGzip(labelsFile), labelsFile);
  if (labels.length !== n) {
    throw new IdxFormatError(
      labelsFile,
      `label/image count mismatch: ${labels.length} labels but ${path.basename(imagesFile)} has ${n} images`,
    );
  }
  return { images, labels, n };
}

export function loadMnistIdxDir(dir: string): MnistData {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`--data-dir ${dir}: not a directory`);
  }
  const train = loadSplit(dir, MNIST_IDX_FILES.trainImages, MNIST_IDX_FILES.trainLabels);
  const test = loadSplit(dir, MNIST_IDX_FILES.testImages, MNIST_IDX_FILES.testLabels);
  return { train, test, source: `MNIST IDX files in ${path.resolve(dir)} (${train.n} train, ${test.n} test)` };
}
