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
}

/** The tfjs version actually loaded. */
export function tfjsVersion(): string {
  return tf.version.tfjs;
}
