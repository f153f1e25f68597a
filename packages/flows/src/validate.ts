// Argument checks shared by every public factory. Each throws an Error that names the argument, shows the
// value it got and says what was expected, so a bad config fails where it is written, not deep in a matmul.

function show(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}

export function assertInt(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${show(value)}`);
  }
}

export function assertFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`${name} must be a finite number, got ${show(value)}`);
  }
}

export function assertIntArray(name: string, value: unknown, min: number): asserts value is number[] {
  if (!Array.isArray(value)) {
    throw new Error(`${name} must be an array of integers >= ${min}, got ${show(value)}`);
  }
  value.forEach((v, i) => assertInt(`${name}[${i}]`, v, min));
}

export function assertOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Error(`${name} must be one of ${allowed.map(show).join(', ')}, got ${show(value)}`);
  }
}

/** Checks that a tensor-like shape has the given rank and, where `dims` gives a number, that size. */
export function assertShape(name: string, shape: readonly (number | null)[], dims: readonly (number | null)[]): void {
  const ok = shape.length === dims.length && dims.every((d, i) => d === null || shape[i] === null || shape[i] === d);
  if (!ok) {
    const want = dims.map((d) => (d === null ? 'batch' : String(d))).join(', ');
    throw new Error(`${name} must have shape [${want}], got [${shape.join(', ')}]`);
  }
}

export { show as describeValue };
