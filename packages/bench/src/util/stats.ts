// Summary statistics for timing samples. Medians, not means: one descheduled repetition must not move a figure.

export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new Error('median: values must not be empty');
  }
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Half the distance between the 25th and 75th percentiles: a spread measure as robust as the median. */
export function semiIqr(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => {
    const pos = (s.length - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return (q(0.75) - q(0.25)) / 2;
}

/** a / b, or null when b is not a positive finite number (a ratio that cannot be formed is reported as such). */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}
