import { referenceMask } from '../../test-helpers/reference';
import { selectKept } from './top_k';

function randomRows(M: number, N: number, seed: number, levels = 0): Float32Array {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  // With `levels` > 0, values are quantized so that many magnitudes tie.
  return Float32Array.from({ length: M * N }, () => {
    const v = next() * 2 - 1;
    return levels > 0 ? Math.round(v * levels) / levels : v;
  });
}

function maskFrom(idx: Int32Array, M: number, N: number, k: number): Float32Array {
  const mask = new Float32Array(M * N);
  for (let r = 0; r < M; r++) for (let t = 0; t < k; t++) mask[r * N + idx[r * k + t]] = 1;
  return mask;
}

describe('selectKept', () => {
  it.each([
    [7, 29, 5, 0],
    [3, 100, 1, 0],
    [4, 50, 49, 0],
    [6, 40, 8, 3], // heavy ties: lower index must win
    [5, 64, 16, 2], // the largest k of the small-k path, with ties
    [5, 64, 17, 2], // the smallest k of the heap path
  ])('per-example on %ix%i, k=%i (levels %i) matches a sort-based top-k', (M, N, k, levels) => {
    const dy = randomRows(M, N, 11 + M, levels);
    const idx = new Int32Array(M * k);
    const val = new Float32Array(M * k);
    selectKept(dy, M, N, k, 'per-example', 0, idx, val);
    expect(Array.from(maskFrom(idx, M, N, k))).toEqual(Array.from(referenceMask(dy, M, N, k, 'per-example')));
    for (let r = 0; r < M; r++) {
      for (let t = 0; t < k; t++) expect(val[r * k + t]).toBe(dy[r * N + idx[r * k + t]]);
      const row = Array.from(idx.slice(r * k, (r + 1) * k));
      expect(row).toEqual([...row].sort((p, q) => p - q));
    }
  });

  it('unified keeps the k columns with the largest sum of |dy|', () => {
    const M = 9;
    const N = 31;
    const k = 6;
    const dy = randomRows(M, N, 5, 2);
    const idx = new Int32Array(M * k);
    selectKept(dy, M, N, k, 'unified', 0, idx, new Float32Array(M * k));
    expect(Array.from(maskFrom(idx, M, N, k))).toEqual(Array.from(referenceMask(dy, M, N, k, 'unified')));
  });

  it('keeps NaN (ranked largest) so that it propagates, and terminates', () => {
    const dy = Float32Array.from([0.5, NaN, -2, 0.1, NaN, 3]);
    const idx = new Int32Array(2);
    const val = new Float32Array(2);
    selectKept(dy, 1, 6, 2, 'per-example', 0, idx, val);
    expect(Array.from(idx)).toEqual([1, 4]);
    expect(val.every(Number.isNaN)).toBe(true);
    const all = new Float32Array(6).fill(NaN);
    selectKept(all, 1, 6, 3, 'unified', 0, new Int32Array(3), new Float32Array(3));
  });

  it('random mode keeps k distinct columns per row, reproducibly for a seed, covering all columns', () => {
    const M = 50;
    const N = 20;
    const k = 4;
    const dy = randomRows(M, N, 1);
    const run = (seed: number) => {
      const idx = new Int32Array(M * k);
      selectKept(dy, M, N, k, 'random', seed, idx, new Float32Array(M * k));
      return idx;
    };
    const a = run(42);
    expect(Array.from(run(42))).toEqual(Array.from(a));
    expect(Array.from(run(43))).not.toEqual(Array.from(a));
    const seen = new Set<number>();
    for (let r = 0; r < M; r++) {
      const row = new Set(Array.from(a.slice(r * k, (r + 1) * k)));
      expect(row.size).toBe(k);
      row.forEach((j) => seen.add(j));
    }
    expect(seen.size).toBe(N);
  });
});
