// MADE masks (Germain et al. 2015). Every unit gets a degree; a connection is kept only when it cannot carry
// information from an input to an output that comes earlier or at the same place in the order.
import { assertInt, assertIntArray, describeValue } from './validate';

/** How the event dimensions are ordered: a named order, or an explicit permutation (see `resolveOrder`). */
export type InputOrder = 'left-to-right' | 'right-to-left' | 'random' | number[];

/** Small deterministic PRNG (mulberry32) so a 'random' order is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws unless `perm` holds each of 0..n-1 exactly once. */
export function assertPermutation(name: string, perm: unknown, n: number): asserts perm is number[] {
  const ok =
    Array.isArray(perm) &&
    perm.length === n &&
    perm.every((v) => Number.isInteger(v) && v >= 0 && v < n) &&
    new Set(perm).size === n;
  if (!ok) {
    throw new Error(`${name} must be a permutation of 0..${n - 1} (each index exactly once), got ${describeValue(perm)}`);
  }
}

/**
 * Turns an order into an explicit permutation: element k is the dimension that comes k-th. An explicit
 * permutation is returned as a copy; 'random' shuffles with `seed`. The result is what configs store, so a
 * reloaded layer never depends on the seed or the PRNG again.
 */
export function resolveOrder(order: InputOrder, eventSize: number, seed = 0, name = 'inputOrder'): number[] {
  assertInt('eventSize', eventSize, 1);
  if (Array.isArray(order)) {
    assertPermutation(name, order, eventSize);
    return order.slice();
  }
  const identity = Array.from({ length: eventSize }, (_, i) => i);
  switch (order) {
    case 'left-to-right':
      return identity;
    case 'right-to-left':
      return identity.reverse();
    case 'random': {
      assertInt('seed', seed, 0);
      const rand = seededRandom(seed);
      for (let i = eventSize - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [identity[i], identity[j]] = [identity[j], identity[i]];
      }
      return identity;
    }
    default:
      throw new Error(
        `${name} must be 'left-to-right', 'right-to-left', 'random' or a permutation array, got ${describeValue(order)}`,
      );
  }
}

/** Degree of each input dimension: 1 + its position in the order. */
export function inputDegrees(order: number[]): number[] {
  const deg = new Array<number>(order.length);
  order.forEach((dim, position) => (deg[dim] = position + 1));
  return deg;
}

/**
 * Degrees of a hidden layer: cycled through 1..D-1, so every width >= D-1 covers all of them and every output
 * keeps a path from each input before it. With D = 1 there is nothing to depend on; degree 1 cuts the hidden
 * layer from the output, which then depends only on its bias (and the context).
 */
export function hiddenDegrees(units: number, eventSize: number): number[] {
  const span = Math.max(1, eventSize - 1);
  return Array.from({ length: units }, (_, k) => 1 + (k % span));
}

/** Throws when a hidden width is too small to give every output all the inputs before it. */
export function assertHiddenUnits(hiddenUnits: unknown, eventSize: number): asserts hiddenUnits is number[] {
  assertIntArray('hiddenUnits', hiddenUnits, 1);
  const need = Math.max(1, eventSize - 1);
  hiddenUnits.forEach((h, i) => {
    if (h < need) {
      throw new Error(
        `hiddenUnits[${i}] must be >= eventSize - 1 = ${need} for eventSize ${eventSize}, got ${h}: ` +
          'a narrower layer lacks some degrees and the mask would cut every path from some inputs to the outputs',
      );
    }
  });
}

/**
 * Row-major [in, out] 0/1 mask. `strict` is for the output layer: an output of degree d may only see units of
 * degree < d; hidden units of degree d may see units of degree <= d.
 */
export function degreeMask(inDeg: number[], outDeg: number[], strict: boolean): number[][] {
  return inDeg.map((di) => outDeg.map((dout) => ((strict ? dout > di : dout >= di) ? 1 : 0)));
}

/**
 * All masks of a MADE with `params` outputs per dimension; output unit i * params + p belongs to dimension i, so
 * a reshape to [batch, eventSize, params] lines them up.
 */
export function madeMasks(order: number[], hiddenUnits: number[], params: number): number[][][] {
  const eventSize = order.length;
  const inDeg = inputDegrees(order);
  const outDeg: number[] = [];
  for (const d of inDeg) for (let p = 0; p < params; p++) outDeg.push(d);
  const masks: number[][][] = [];
  let prev = inDeg;
  for (const units of hiddenUnits) {
    const deg = hiddenDegrees(units, eventSize);
    masks.push(degreeMask(prev, deg, false));
    prev = deg;
  }
  masks.push(degreeMask(prev, outDeg, true));
  return masks;
}
