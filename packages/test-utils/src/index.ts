// Shared test helpers for the @meprop packages: backend parameterization, closeness and leak checks.
// Not published. Tests import it as '@meprop/test-utils'.
import * as tf from '@tensorflow/tfjs';

export type TestBackend = 'cpu' | 'wasm' | 'tensorflow';

const KNOWN: readonly TestBackend[] = ['cpu', 'wasm', 'tensorflow'];

/**
 * Backends the suites run on. `MEPROP_TEST_BACKENDS=cpu,wasm,tensorflow` chooses; the default is cpu and wasm.
 * `tensorflow` needs @tensorflow/tfjs-node (see tools/provision-tfjs-node.sh); asking for it when it is not
 * installed is an error, never a silent skip.
 */
export function testBackends(): TestBackend[] {
  const raw = process.env.MEPROP_TEST_BACKENDS ?? 'cpu,wasm';
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if (!(KNOWN as readonly string[]).includes(n)) {
      throw new Error(`MEPROP_TEST_BACKENDS: unknown backend '${n}' (expected one of ${KNOWN.join(', ')})`);
    }
  }
  return names as TestBackend[];
}

const TFJS_NODE: string = '@tensorflow/tfjs-node';

/** Loads and activates a backend; call in beforeAll. */
export async function useBackend(name: TestBackend): Promise<void> {
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'tensorflow') {
    try {
      // A name in a variable: tfjs-node is optional, and has no types to resolve when it is not installed.
      await import(TFJS_NODE);
    } catch (e) {
      throw new Error(
        `backend 'tensorflow' requested but @tensorflow/tfjs-node cannot be loaded (${(e as Error).message}); ` +
          'run tools/provision-tfjs-node.sh first',
      );
    }
  }
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`could not activate backend '${name}' (active: ${tf.getBackend()})`);
  }
  await tf.ready();
}

/** `describe` once per test backend, with the backend active for the whole block. */
export function describeEachBackend(title: string, body: (backend: TestBackend) => void): void {
  for (const backend of testBackends()) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}

/** Max |a-b| / max(1, |b|) over all entries; throws on shape mismatch. */
export function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join('x') !== b.shape.join('x')) {
    throw new Error(`shape mismatch: [${a.shape}] vs [${b.shape}]`);
  }
  const av = a.dataSync();
  const bv = b.dataSync();
  let worst = 0;
  for (let i = 0; i < av.length; i++) {
    const d = Math.abs(av[i] - bv[i]) / Math.max(1, Math.abs(bv[i]));
    if (Number.isNaN(d)) return NaN;
    if (d > worst) worst = d;
  }
  return worst;
}

/** Asserts a and b have the same shape and agree to `tol` relative (scaled by max(1,|b|)). */
export function expectClose(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  const d = maxRelDiff(a, b);
  if (!(d <= tol)) {
    throw new Error(`tensors differ: max relative difference ${d} > ${tol}`);
  }
}

/**
 * Runs `step` once (warm-up: weights, optimizer slots, kernels allocated), records numTensors, runs it
 * `steps - 1` more times, and returns both counts; a test asserts they are equal.
 */
export async function tensorCountAfter(
  step: () => void | Promise<void>,
  steps = 50,
): Promise<{ after1: number; afterN: number }> {
  await step();
  const after1 = tf.memory().numTensors;
  for (let i = 1; i < steps; i++) await step();
  return { after1, afterN: tf.memory().numTensors };
}

/** A deterministic uniform(-1,1) tensor (tf.randomUniform with a seed). */
export function seededTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tidy(() => tf.randomUniform(shape, -scale, scale, 'float32', seed));
}

export { mnistSubset } from './mnist';
export type { MnistData, MnistSplit } from './mnist';

/**
 * Under jest, tensors that tfjs-node computed hold typed arrays of the main Node realm, which tfjs-core's
 * `encodeWeights` (model.save) rejects as "Unsupported TypedArray subtype". Before saving on the tensorflow
 * backend, this rewrites every weight from an array of the test's own realm (same values), so the save
 * round trip can be tested there too. A no-op on other backends.
 */
export function weightsInTestRealm(model: { getWeights(): tf.Tensor[]; setWeights(w: tf.Tensor[]): void }): void {
  if (tf.getBackend() !== 'tensorflow') return;
  const fresh = model.getWeights().map((w) => tf.tensor(Array.from(w.dataSync()), w.shape, w.dtype));
  model.setWeights(fresh);
  tf.dispose(fresh);
}

// The LSTM keyword task of `meprop-bench simp-lstm`, for @meprop/layers' meSimp tests (from the bench sources,
// not copied, like the MNIST loader in ./mnist).
export {
  classificationAccuracy,
  keywordSequences,
  shuffledOrder,
  type KeywordTask,
} from '../../bench/src/data/keyword_sequences';
