import { median, ratio, semiIqr } from './stats';
import { makeRng, permutation } from './rng';

describe('stats', () => {
  it('median of odd and even lengths', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });
  it('semiIqr is zero for constant samples', () => {
    expect(semiIqr([5, 5, 5, 5])).toBe(0);
    expect(semiIqr([1, 2, 3, 4, 5])).toBe(1);
  });
  it('ratio refuses a zero denominator', () => {
    expect(ratio(10, 2)).toBe(5);
    expect(ratio(1, 0)).toBeNull();
  });
});

describe('rng', () => {
  it('is deterministic per seed and permutations are complete', () => {
    const a = permutation(50, makeRng(7));
    const b = permutation(50, makeRng(7));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(permutation(50, makeRng(8)))).not.toEqual(Array.from(a));
  });
});
