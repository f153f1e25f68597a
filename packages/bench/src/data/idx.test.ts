import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseIdxImages, parseIdxLabels } from './idx';
import { loadMnistIdxDir } from './load_idx_dir';
import { idxImages, idxLabels, writeIdxDir, removeTempDirs } from '../test-helpers/idx_fixtures';

describe('IDX parsing', () => {
  it('parses images scaled to [0, 1] and labels', () => {
    const img = parseIdxImages(idxImages(3), 'img');
    expect(img.n).toBe(3);
    expect(img.images.length).toBe(3 * 784);
    expect(img.images[784 + 5]).toBeCloseTo(12 / 255, 6);
    expect(Array.from(parseIdxLabels(idxLabels([0, 9, 4]), 'lab'))).toEqual([0, 9, 4]);
  });

  it('rejects a bad magic number, naming the file', () => {
    expect(() => parseIdxImages(idxImages(2, 28, 0x801), 'x-images')).toThrow(
      /x-images: bad magic number 0x00000801, expected 0x00000803/,
    );
    expect(() => parseIdxLabels(idxLabels([1], 0x803), 'x-labels')).toThrow(/x-labels: bad magic/);
  });

  it('rejects wrong dimensions', () => {
    expect(() => parseIdxImages(idxImages(2, 14), 'small')).toThrow(/small: wrong image dimensions 14x14, expected 28x28/);
  });

  it('reports the byte where a truncated file ends', () => {
    const full = idxImages(4);
    expect(() => parseIdxImages(full.subarray(0, 1000), 'cut')).toThrow(/cut: truncated at byte 1000/);
    expect(() => parseIdxImages(full.subarray(0, 10), 'cut')).toThrow(/cut: truncated at byte 10: the header needs 16 bytes/);
    expect(() => parseIdxLabels(idxLabels([1, 2, 3]).subarray(0, 9), 'labs')).toThrow(/labs: truncated at byte 9/);
  });

  it('rejects a label above 9', () => {
    expect(() => parseIdxLabels(idxLabels([1, 12, 3]), 'labs')).toThrow(/labs: label 12 at index 1 .* expected 0\.\.9/);
  });
});

describe('loadMnistIdxDir', () => {
  it('loads plain files', () => {
    const data = loadMnistIdxDir(writeIdxDir({ nTrain: 20, nTest: 10 }));
    expect(data.train.n).toBe(20);
    expect(data.test.n).toBe(10);
    expect(Array.from(data.train.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(data.source).toMatch(/20 train, 10 test/);
  });

  it('loads gzip files with the same content', () => {
    const plain = loadMnistIdxDir(writeIdxDir({ nTrain: 12, nTest: 5 }));
    const gz = loadMnistIdxDir(writeIdxDir({ nTrain: 12, nTest: 5, gzip: true }));
    expect(Array.from(gz.train.images)).toEqual(Array.from(plain.train.images));
    expect(Array.from(gz.test.labels)).toEqual(Array.from(plain.test.labels));
  });

  it('names a corrupt gzip file', () => {
    const dir = writeIdxDir({ nTrain: 4, nTest: 4, gzip: true });
    const file = path.join(dir, 't10k-images-idx3-ubyte.gz');
    const gz = fs.readFileSync(file);
    fs.writeFileSync(file, gz.subarray(0, gz.length - 20));
    expect(() => loadMnistIdxDir(dir)).toThrow(/t10k-images-idx3-ubyte\.gz: corrupt gzip data/);
  });

  it('names a truncated gzip member by its decompressed byte count', () => {
    const dir = writeIdxDir({ nTrain: 4, nTest: 4 });
    const file = path.join(dir, 'train-images-idx3-ubyte');
    fs.unlinkSync(file);
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(idxImages(4).subarray(0, 500)));
    expect(() => loadMnistIdxDir(dir)).toThrow(/train-images-idx3-ubyte\.gz: truncated at byte 500/);
  });

  it('detects a label/image count mismatch', () => {
    const dir = writeIdxDir({ nTrain: 6, nTest: 4 });
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2, 3]));
    expect(() => loadMnistIdxDir(dir)).toThrow(
      /train-labels-idx1-ubyte: label\/image count mismatch: 3 labels but train-images-idx3-ubyte has 6 images/,
    );
  });

  it('lists the names tried for a missing file', () => {
    const dir = writeIdxDir({ nTrain: 2, nTest: 2 });
    fs.unlinkSync(path.join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => loadMnistIdxDir(dir)).toThrow(
      /no t10k-labels-idx1-ubyte file \(tried t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte\.gz/,
    );
  });
});

afterAll(() => removeTempDirs());
