// Builds small IDX files in memory for the loader tests.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

function header(words: number[]): Buffer {
  const b = Buffer.alloc(4 * words.length);
  words.forEach((w, i) => b.writeUInt32BE(w, 4 * i));
  return b;
}

/** n images of side x side; pixel j of image i is (i * 7 + j) % 256, so values are checkable. */
export function idxImages(n: number, side = 28, magic = 0x803): Buffer {
  const body = Buffer.alloc(n * side * side);
  for (let i = 0; i < body.length; i++) body[i] = (Math.floor(i / (side * side)) * 7 + (i % (side * side))) % 256;
  return Buffer.concat([header([magic, n, side, side]), body]);
}

export function idxLabels(labels: number[], magic = 0x801): Buffer {
  return Buffer.concat([header([magic, labels.length]), Buffer.from(labels)]);
}

const created: string[] = [];

/** A fresh directory under the OS temp dir; removed by removeTempDirs() (call it in afterAll). */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meprop-bench-test-'));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes the four MNIST files into a fresh directory; `gzip` compresses them as `.gz`. */
export function writeIdxDir(opts: { nTrain: number; nTest: number; gzip?: boolean }): string {
  const dir = tempDir();
  const put = (name: string, data: Buffer): void => {
    if (opts.gzip) fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(data));
    else fs.writeFileSync(path.join(dir, name), data);
  };
  put('train-images-idx3-ubyte', idxImages(opts.nTrain));
  put('train-labels-idx1-ubyte', idxLabels(Array.from({ length: opts.nTrain }, (_, i) => i % 10)));
  put('t10k-images-idx3-ubyte', idxImages(opts.nTest));
  put('t10k-labels-idx1-ubyte', idxLabels(Array.from({ length: opts.nTest }, (_, i) => (i * 3) % 10)));
  return dir;
}
