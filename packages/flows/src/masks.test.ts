import { assertHiddenUnits, degreeMask, hiddenDegrees, inputDegrees, madeMasks, resolveOrder } from './masks';

describe('resolveOrder', () => {
  it('resolves the named orders to permutations', () => {
    expect(resolveOrder('left-to-right', 4)).toEqual([0, 1, 2, 3]);
    expect(resolveOrder('right-to-left', 4)).toEqual([3, 2, 1, 0]);
    expect(resolveOrder([2, 0, 3, 1], 4)).toEqual([2, 0, 3, 1]);
  });

  it('makes a random order a reproducible permutation of its seed', () => {
    const a = resolveOrder('random', 9, 42);
    expect(a.slice().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(resolveOrder('random', 9, 42)).toEqual(a);
    expect(resolveOrder('random', 9, 43)).not.toEqual(a);
  });

  it('rejects what is not a permutation, naming the argument and the value', () => {
    expect(() => resolveOrder([0, 0, 1], 3)).toThrow(/inputOrder must be a permutation of 0\.\.2.*\[0, 0, 1\]/);
    expect(() => resolveOrder([0, 1], 3)).toThrow(/inputOrder.*\[0, 1\]/);
    expect(() => resolveOrder([0, 1, 3], 3)).toThrow(/inputOrder.*\[0, 1, 3\]/);
    expect(() => resolveOrder('sideways' as 'random', 3)).toThrow(/inputOrder.*'sideways'/);
    expect(() => resolveOrder('left-to-right', 0)).toThrow(/eventSize must be an integer >= 1, got 0/);
  });
});

describe('MADE masks', () => {
  it('gives every input its position in the order as degree', () => {
    expect(inputDegrees([2, 0, 1])).toEqual([2, 3, 1]);
    expect(hiddenDegrees(5, 3)).toEqual([1, 2, 1, 2, 1]);
  });

  it('keeps only paths from earlier to later dimensions', () => {
    // Composing the masks counts the paths from input j to output i; it must be zero unless j comes before i.
    const order = [1, 3, 0, 2];
    const masks = madeMasks(order, [5, 6], 1);
    let paths = masks[0];
    for (const m of masks.slice(1)) {
      paths = paths.map((row) => m[0].map((_, c) => row.reduce((acc, v, k) => acc + v * m[k][c], 0)));
    }
    const pos = inputDegrees(order);
    for (let j = 0; j < 4; j++) {
      for (let i = 0; i < 4; i++) {
        if (pos[j] >= pos[i]) expect(paths[j][i]).toBe(0);
        else expect(paths[j][i]).toBeGreaterThan(0);
      }
    }
  });

  it('uses a strict comparison only for the output layer', () => {
    expect(degreeMask([1, 2], [1, 2], false)).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(degreeMask([1, 2], [1, 2], true)).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });

  it('rejects hidden layers too narrow for the mask', () => {
    expect(() => assertHiddenUnits([8, 3], 6)).toThrow(/hiddenUnits\[1\] must be >= eventSize - 1 = 5 for eventSize 6, got 3/);
    expect(() => assertHiddenUnits([8, 0], 2)).toThrow(/hiddenUnits\[1\] must be an integer >= 1, got 0/);
    expect(() => assertHiddenUnits('wide', 2)).toThrow(/hiddenUnits must be an array.*'wide'/);
    expect(() => assertHiddenUnits([5, 5], 6)).not.toThrow();
  });
});
