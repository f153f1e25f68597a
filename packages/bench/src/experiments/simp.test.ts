// meprop-bench simp trains the meSimp model in parts of an epoch and the plain models in whole epochs: the
// parts must be the same batches.
import { partRange } from './simp';

describe('simp: parts of an epoch', () => {
  test.each([
    [4000, 100, 8],
    [8004, 100, 8],
    [8004, 32, 8],
    [250, 100, 3],
    [1000, 100, 10],
  ])('n=%i, batch %i, %i parts: consecutive, whole batches, the epoch together', (n, batch, parts) => {
    const ranges = Array.from({ length: parts }, (_, p) => partRange(n, batch, p, parts));
    expect(ranges[0][0]).toBe(0);
    expect(ranges[parts - 1][1]).toBe(n);
    for (let p = 0; p < parts; p++) {
      const [from, to] = ranges[p];
      expect(to).toBeGreaterThan(from); // no empty part (parts <= batches)
      expect(from % batch).toBe(0);
      if (p < parts - 1) {
        expect(to % batch).toBe(0);
        expect(ranges[p + 1][0]).toBe(to);
      }
    }
    // Sizes differ by at most one batch: the simplifications are evenly spread.
    const sizes = ranges.map(([a, b]) => Math.ceil((b - a) / batch));
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  test('one part is the whole epoch', () => {
    expect(partRange(8004, 32, 0, 1)).toEqual([0, 8004]);
  });
});
