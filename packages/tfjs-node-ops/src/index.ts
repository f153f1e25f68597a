// @meprop/tfjs-node-ops: meProp's backward as native TensorFlow ops for the `tensorflow` backend (tfjs-node).
//
// Importing this package loads build/meprop_tf_ops.node (built at install, or with `npx meprop-build-native`),
// which registers meProp's ops in the libtensorflow tfjs-node runs, checks once that tfjs-node's binding
// executes them, and then registers the kernels that use them for the `tensorflow` backend in place of
// @meprop/core's stock-op kernels. If any step fails, nothing is replaced: meProp keeps working with
// TensorFlow's stock ops, and `nativeOpsStatus()` says why.
import '@meprop/core'; // core registers its stock-op kernels first; the native ones replace them below
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { nativeConvKernelConfigs } from './conv_kernels';
import { nativeMlpKernelConfigs } from './mlp_kernels';

/** What loading the native ops gave. */
export interface NativeOpsStatus {
  /** True when the ops are registered, self-tested, and their kernels replace the stock-op ones. */
  readonly loaded: boolean;
  /** The TensorFlow ops the addon registered. */
  readonly ops: readonly string[];
  /** The kernels (tfjs kernel names) now running on the native ops. */
  readonly kernels: readonly string[];
  /** Why the native ops are not in use (null when loaded). */
  readonly reason: string | null;
  /** The addon's path. */
  readonly path: string;
}

interface AddonExports {
  ops: string[];
  error: string | null;
}

interface BindingLike {
  executeOp(name: string, attrs: unknown[], inputs: number[], numOutputs: number): Array<{ id: number; shape: number[] }>;
  tensorDataSync(id: number): ArrayLike<number>;
  deleteTensor(id: number): void;
}

interface TfBackendLike {
  binding: BindingLike;
  getInputTensorIds(tensors: tf.Tensor[]): number[];
}

type NodeRequire = (id: string) => unknown;

function nodeRequire(): NodeRequire {
  const mod = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('module') as
    { createRequire(from: string): NodeRequire } | undefined;
  if (mod === undefined) throw new Error('@meprop/tfjs-node-ops needs Node >= 20.16 (process.getBuiltinModule)');
  return mod.createRequire(__filename);
}

const kernelConfigs: KernelConfig[] = [];
let status: NativeOpsStatus | null = null;

/** Adds kernels to install on the `tensorflow` backend once the native ops load (used by this package's files). */
export function addNativeKernels(configs: KernelConfig[]): void {
  kernelConfigs.push(...configs);
  if (status?.loaded) install(configs);
}

function install(configs: KernelConfig[]): string[] {
  const names: string[] = [];
  for (const c of configs) {
    if (c.backendName !== 'tensorflow')
      throw new Error(`native kernel ${c.kernelName} must target 'tensorflow', got '${c.backendName}'`);
    // Replace @meprop/core's stock-op kernel of the same name (registerKernel alone would warn and keep going).
    if (tf.getKernel(c.kernelName, 'tensorflow') !== undefined) tf.unregisterKernel(c.kernelName, 'tensorflow');
    tf.registerKernel(c);
    names.push(c.kernelName);
  }
  return names;
}

function addonPath(): string {
  const get = (process as unknown as { getBuiltinModule(id: string): unknown }).getBuiltinModule;
  const path = get('path') as { join(...p: string[]): string };
  const fs = get('fs') as { existsSync(p: string): boolean };
  // dist/cjs/index.js sits two levels below the package folder, src/index.ts (under ts-jest) one.
  const candidates = [path.join(__dirname, '..', '..', 'build'), path.join(__dirname, '..', 'build')];
  const dir = candidates.find((d) => fs.existsSync(path.join(d, '..', 'native', 'module.cc'))) ?? candidates[0];
  return path.join(dir, 'meprop_tf_ops.node');
}

/**
 * Loads the native ops (once; later calls return the same status). Needs @tensorflow/tfjs-node: if the
 * `tensorflow` backend is not registered yet, this function loads it.
 */
export function loadNativeOps(): NativeOpsStatus {
  if (status !== null) return status;
  let path = '';
  const fail = (reason: string, ops: string[] = []): NativeOpsStatus =>
    (status = { loaded: false, ops, kernels: [], reason, path });
  try {
    path = addonPath();
    const req = nodeRequire();
    if (tf.findBackend('tensorflow') === null) {
      // Not imported yet: load it here (it registers the `tensorflow` backend on the shared tfjs engine).
      try {
        req('@tensorflow/tfjs-node');
      } catch (e) {
        return fail(`@tensorflow/tfjs-node cannot be loaded: ${(e as Error).message}`);
      }
    }
    let addon: AddonExports;
    try {
      addon = req(path) as AddonExports;
    } catch (e) {
      return fail(`the addon ${path} cannot be loaded (build it with \`npx meprop-build-native\`): ${(e as Error).message}`);
    }
    if (addon.error !== null) return fail(`registering the ops failed: ${addon.error}`, addon.ops);
    const selfTest = runSelfTest();
    if (selfTest !== null) return fail(selfTest, addon.ops);
    status = { loaded: true, ops: [...addon.ops], kernels: [], reason: null, path };
    status = { ...status, kernels: install(kernelConfigs) };
    return status;
  } catch (e) {
    return fail((e as Error).message);
  }
}

/** The status of the last `loadNativeOps()` (loading first if it never ran). */
export function nativeOpsStatus(): NativeOpsStatus {
  return status ?? loadNativeOps();
}

// Runs MePropSelfTest (y = 2x) through tfjs-node's binding: proves the ops live in the libtensorflow that
// tfjs-node executes, not in a second copy. Returns null when it passes, else the reason.
function runSelfTest(): string | null {
  const backend = tf.findBackend('tensorflow') as unknown as TfBackendLike | null;
  if (backend === null || typeof backend.binding?.executeOp !== 'function') {
    return "the 'tensorflow' backend is not registered (is @tensorflow/tfjs-node 4.x installed?)";
  }
  const x = tf.tensor1d([1, -2.5, 3]);
  try {
    const [id] = backend.getInputTensorIds([x]);
    const [y] = backend.binding.executeOp('MePropSelfTest', [], [id], 1);
    try {
      const v = Array.from(backend.binding.tensorDataSync(y.id));
      if (v.length !== 3 || v[0] !== 2 || v[1] !== -5 || v[2] !== 6)
        return `self-test gave [${v.join(', ')}], expected [2, -5, 6]`;
    } finally {
      backend.binding.deleteTensor(y.id);
    }
    return null;
  } catch (e) {
    return `tfjs-node's binding cannot run the registered ops: ${(e as Error).message}`;
  } finally {
    x.dispose();
  }
}

// The native kernels. Neither mlp_kernels.ts nor conv_kernels.ts imports this file: an import cycle breaks
// under module systems that hoist imports (tsx/esbuild ran mlp_kernels.ts before `kernelConfigs` existed).
addNativeKernels(nativeMlpKernelConfigs);
addNativeKernels(nativeConvKernelConfigs);

// Importing the package after @tensorflow/tfjs-node is enough: the ops load (or say why not) at once. Imported
// before it, nothing happens until loadNativeOps() is called.
if (tf.findBackend('tensorflow') !== null) loadNativeOps();
