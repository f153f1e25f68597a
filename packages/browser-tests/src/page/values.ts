// Helpers shared by the page's checks: deterministic inputs and the comparison they report.

/** Deterministic normal-ish values (sum of uniforms from an LCG): identical on every backend. */
export function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < n; i++) out[i] = next() + next() + next() - 1.5;
  return out;
}

/** Max |got - want| / max(1, |want|) over all entries; NaN if any entry is NaN or the lengths differ. */
export function relDiff(got: Float32Array | Int32Array | Uint8Array, want: Float32Array | Int32Array | Uint8Array): number {
  if (got.length !== want.length) return NaN;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    if (Number.isNaN(d)) return NaN;
    if (d > worst) worst = d;
  }
  return worst;
}
