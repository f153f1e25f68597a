import { Rng } from './rng';

describe('Rng', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 5 }, () => r.nextUint32());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('nextFloat is uniform on [0, 1): range, mean and a chi-square over 10 buckets', () => {
    const r = new Rng(3);
    const n = 20000;
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const u = r.nextFloat();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      buckets[Math.floor(u * 10)]++;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    const chi2 = buckets.reduce((a, c) => a + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.9); // 9 degrees of freedom, p = 0.001
  });

  it('nextInt stays in [0, n) and rejects a bad seed', () => {
    const r = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const v = r.nextInt(7);
      expect(Number.isInteger(v) && v >= 0 && v < 7).toBe(true);
    }
    expect(() => new Rng(NaN)).toThrow(/Rng: seed must be a finite number, got NaN/);
  });
});
