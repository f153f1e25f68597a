import { keptCount, validateMePropConfig } from './config';

describe('validateMePropConfig', () => {
  it('fills in the default mode', () => {
    expect(validateMePropConfig({ k: 20 })).toEqual({ k: 20, mode: 'per-example', seed: undefined });
    expect(validateMePropConfig({ k: 0.1, mode: 'unified', seed: 3 })).toEqual({ k: 0.1, mode: 'unified', seed: 3 });
  });

  it.each([
    [{ k: 0 }, /config\.k must be > 0.*got 0/],
    [{ k: -3 }, /config\.k must be > 0.*got -3/],
    [{ k: NaN }, /config\.k must be a finite number.*got NaN/],
    [{ k: Infinity }, /config\.k must be a finite number.*got Infinity/],
    [{ k: '20' }, /config\.k must be a finite number.*got '20'/],
    [{ k: 2.5 }, /config\.k must be an integer when greater than 1.*got 2\.5/],
    [{ k: 5, mode: 'topk' }, /config\.mode must be one of 'per-example', 'unified', 'random', 'per-sample', got 'topk'/],
    [{ k: 5, seed: NaN }, /config\.seed must be a finite number, got NaN/],
    [null, /config must be an object/],
  ])('rejects %p', (config, message) => {
    expect(() => validateMePropConfig(config)).toThrow(message);
  });

  it('names the argument it was given', () => {
    expect(() => validateMePropConfig({ k: 0 }, 'options')).toThrow(/^options\.k/);
  });
});

describe('keptCount', () => {
  it('treats k < 1 as a fraction of the dimension and clamps to [1, dim]', () => {
    expect(keptCount(20, 500)).toBe(20);
    expect(keptCount(0.04, 500)).toBe(20);
    expect(keptCount(0.0001, 500)).toBe(1);
    expect(keptCount(600, 500)).toBe(500);
  });
});
