// withMeProp({ exclude }) leaves some matmuls exact: those with an excluded variable (e.g. an output layer's
// kernel or bias) among the operands their gradient receives. tfjs gives a gradient function copies of the
// operands, not the variables: the Identity kernel copies on wasm, and Reshape (tf.fused.matMul reshapes its
// operands) makes new handles on tensorflow. So while a scope is active the Identity and Reshape kernels of
// every backend carry a mark from an excluded variable's data to their output, and the gradient checks its
// saved tensors for the variables or a mark.
import * as tf from '@tensorflow/tfjs-core';

/** A tfjs-layers layer (or anything with weights that read as variables): all its weights are excluded. */
export interface LayerWithWeights {
  readonly weights: ReadonlyArray<{ read(): tf.Tensor }>;
}

/**
 * Which matmuls a meProp scope leaves exact: layers, layer names (all weights of that layer), variable names,
 * or the variables themselves; or a predicate over variable names (tfjs-layers names them `layer/kernel`,
 * `layer/bias`, with a `_n` suffix when a name repeats).
 */
export type MePropExclude = ReadonlyArray<string | tf.Variable | LayerWithWeights> | ((variableName: string) => boolean);

function isLayerWithWeights(e: unknown): e is LayerWithWeights {
  const w = (e as { weights?: unknown } | null)?.weights;
  return (
    typeof e === 'object' &&
    e !== null &&
    Array.isArray(w) &&
    w.every((x) => typeof (x as { read?: unknown }).read === 'function')
  );
}

function registeredVariables(): tf.Variable[] {
  return Object.values(tf.engine().registeredVariables);
}

/** A layer name matches its weights (`name/...`, also nested `outer/name/...`); a variable name itself. */
function nameMatches(pattern: string, variableName: string): boolean {
  return variableName === pattern || variableName.startsWith(`${pattern}/`) || variableName.includes(`/${pattern}/`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof tf.Variable) return `tf.Variable '${v.name}'`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The excluded variables of one scope, and the data derived from them while that scope is innermost. */
export class Exclusion {
  private readonly marks = new WeakSet<object>();
  private cached: tf.Variable[] = [];
  private cachedCount = -1;

  private constructor(private readonly spec: MePropExclude) {}

  /** Validates `config.exclude`; undefined when there is none. Throws naming the bad entry. */
  static from(exclude: unknown, argName: string): Exclusion | undefined {
    if (exclude === undefined) return undefined;
    if (typeof exclude === 'function') return new Exclusion(exclude as (name: string) => boolean);
    if (!Array.isArray(exclude)) {
      throw new Error(
        `${argName} must be an array of layer or variable names (or tf.Variables), or a function (variableName) => boolean, got ${describe(exclude)}`,
      );
    }
    const names = new Set(registeredVariables().map((v) => v.name));
    exclude.forEach((e, i) => {
      if (e instanceof tf.Variable || isLayerWithWeights(e)) return;
      if (typeof e !== 'string' || e.length === 0) {
        throw new Error(
          `${argName}[${i}] must be a layer, a non-empty layer or variable name, or a tf.Variable, got ${describe(e)}`,
        );
      }
      // A typo would silently sparsify the layer meant to stay exact: the names must exist now.
      if (![...names].some((n) => nameMatches(e, n))) {
        throw new Error(
          `${argName}[${i}]: '${e}' matches no variable (a layer name or a variable name; build the model before the scope). Variables: ${[...names].slice(0, 20).join(', ')}${names.size > 20 ? ', ...' : ''}`,
        );
      }
    });
    return new Exclusion(exclude as ReadonlyArray<string | tf.Variable | LayerWithWeights>);
  }

  /** The excluded variables now (re-resolved when variables are created or disposed). */
  private variables(): tf.Variable[] {
    const all = tf.engine().registeredVariables;
    const count = Object.keys(all).length;
    if (count !== this.cachedCount) {
      this.cachedCount = count;
      const spec = this.spec;
      const matches = (e: string | tf.Variable | LayerWithWeights, v: tf.Variable): boolean =>
        typeof e === 'string'
          ? nameMatches(e, v.name)
          : e instanceof tf.Variable
            ? e === v
            : e.weights.some((w) => w.read() === v);
      this.cached =
        typeof spec === 'function'
          ? Object.values(all).filter((v) => spec(v.name))
          : Object.values(all).filter((v) => spec.some((e) => matches(e, v)));
    }
    return this.cached;
  }

  /** Whether this data is an excluded variable's, or was derived from one (Identity, Reshape). */
  covers(dataId: object): boolean {
    return this.marks.has(dataId) || this.variables().some((v) => !v.isDisposed && v.dataId === dataId);
  }

  mark(dataId: object): void {
    this.marks.add(dataId);
  }
}

const wrapped = new Map<string, tf.KernelConfig>(); // `${kernel}/${backend}` -> original config

/** Wraps Identity and Reshape on every registered backend: their output inherits the input's mark. */
export function installExclusionTracker(current: () => Exclusion | undefined): void {
  for (const backendName of Object.keys(tf.engine().registryFactory)) {
    for (const kernelName of ['Identity', 'Reshape']) {
      const key = `${kernelName}/${backendName}`;
      const original = tf.getKernel(kernelName, backendName);
      if (wrapped.has(key) || original === undefined) continue;
      const kernelFunc: tf.KernelFunc = (args) => {
        const out = original.kernelFunc(args) as tf.TensorInfo | tf.TensorInfo[];
        const exclusion = current();
        const x = args.inputs.x as tf.TensorInfo | undefined;
        const y = Array.isArray(out) ? out[0] : out;
        if (exclusion !== undefined && x !== undefined && y.dataId !== x.dataId && exclusion.covers(x.dataId))
          exclusion.mark(y.dataId);
        return out;
      };
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel({ ...original, kernelFunc });
      wrapped.set(key, original);
    }
  }
}

export function uninstallExclusionTracker(): void {
  for (const original of wrapped.values()) {
    tf.unregisterKernel(original.kernelName, original.backendName);
    tf.registerKernel(original);
  }
  wrapped.clear();
}
