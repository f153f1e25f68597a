// Default layer names. tfjs derives them from the class name, and ours contain '>' (the registry prefix),
// which is not a valid tensor name, so every layer of the package names itself.
const counters = new Map<string, number>();

export function defaultLayerName(base: string, given?: string): string {
  if (given !== undefined) return given;
  const n = counters.get(base) ?? 0;
  counters.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}
