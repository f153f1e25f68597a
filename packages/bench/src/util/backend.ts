// Activates the backend a run asked for. `tensorflow` is @tensorflow/tfjs-node, an optional peer dependency:
// it is loaded only when asked for, and only if it can be resolved at run time.
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../results/schema';

export const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

/** Whether @tensorflow/tfjs-node can be resolved from here (without loading it). */
export function isTfjsNodeInstalled(): boolean {
  try {
    require.resolve(TFJS_NODE_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

export async function setupBackend(name: BackendName): Promise<void> {
  const restore = filterNodeBanner();
  try {
    await activate(name);
    tf.tensor1d([0]).dispose(); // the cpu backend's first tensor, and so its banner, happen here
  } finally {
    restore();
  }
}

async function activate(name: BackendName): Promise<void> {
  if (name === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'tensorflow') {
    if (!isTfjsNodeInstalled()) {
      throw new Error(
        `--backend tensorflow needs ${TFJS_NODE_PACKAGE} (an optional peer dependency), which is not installed. ` +
          `Install ${TFJS_NODE_PACKAGE}@4.22.0 next to @meprop/bench (in this repo: tools/provision-tfjs-node.sh), ` +
          'or use --backend cpu or --backend wasm.',
      );
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(TFJS_NODE_PACKAGE);
    } catch (e) {
      throw new Error(`--backend tensorflow: ${TFJS_NODE_PACKAGE} is installed but failed to load: ${(e as Error).message}`);
    }
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`--backend ${name}: could not activate the backend (active: ${tf.getBackend()})`);
  }
  if (name === 'tensorflow') loadNativeOps();
}

/** What `--backend tensorflow` runs meProp's backward with: @meprop/tfjs-node-ops' native ops, or stock ops. */
let nativeOps: string | null = null;

/**
 * Loads @meprop/tfjs-node-ops (meProp's native TensorFlow ops) unless `MEPROP_NATIVE_OPS=off`; a missing or
 * unloadable addon is not an error: meProp then runs on TensorFlow's stock ops, and the run header says so.
 */
function loadNativeOps(): void {
  if (process.env.MEPROP_NATIVE_OPS === 'off') {
    nativeOps = 'off (MEPROP_NATIVE_OPS=off): stock TensorFlow ops';
    return;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ops = require('@meprop/tfjs-node-ops') as typeof import('@meprop/tfjs-node-ops');
    const s = ops.loadNativeOps();
    nativeOps = s.loaded
      ? `loaded (${s.kernels.length > 0 ? s.kernels.join(', ') : 'no kernels replaced'})`
      : `not loaded, stock TensorFlow ops (${s.reason})`;
  } catch (e) {
    nativeOps = `not loaded, stock TensorFlow ops (@meprop/tfjs-node-ops: ${(e as Error).message})`;
  }
}

/** The native-ops line of a tensorflow run's header (null on other backends). */
export function nativeOpsSummary(): string | null {
  return nativeOps;
}

/** The advertisement tfjs's cpu backend prints (console.warn) on its first tensor in Node. */
export const TFJS_NODE_BANNER = /looks like you are running TensorFlow\.js in Node\.js/;

/**
 * Filters tfjs's "Hi, looks like you are running TensorFlow.js in Node.js" banner out of console.warn until the
 * returned function is called. tfjs's cpu backend prints it on its first tensor, which can happen at any time
 * (even with --backend wasm, a few tensors go through cpu), in the middle of the progress output; the run's
 * header already names the backend. Every other warning goes through.
 */
export function filterNodeBanner(): () => void {
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    if (args.some((a) => typeof a === 'string' && TFJS_NODE_BANNER.test(a))) return;
    warn(...args);
  };
  return () => {
    console.warn = warn;
  };
}

/** Runs `fn` with the banner filtered (see filterNodeBanner). */
export function withoutNodeBanner<T>(fn: () => T): T {
  const restore = filterNodeBanner();
  try {
    return fn();
  } finally {
    restore();
  }
}

/** The tfjs version actually loaded. */
export function tfjsVersion(): string {
  return tf.version.tfjs;
}
