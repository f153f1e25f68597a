// The meProp gradient registry: while at least one scope is active, the gradients of the registered kernels
// (BatchMatMul and tf.fused.matMul built in; users can add more) are replaced by meProp's. Scopes nest; the
// innermost active config applies; when the last scope ends the original gradients are put back.
import * as tf from '@tensorflow/tfjs-core';
import { MePropConfig, validateMePropConfig } from './config';
import { Exclusion, installExclusionTracker, MePropExclude, uninstallExclusionTracker } from './gradients/excluded_operands';
import { installFusedRecorder, uninstallFusedRecorder } from './gradients/fused_attrs_recorder';
import { makeRuntime, MePropRuntime } from './sparse_backward';

/**
 * The config of a meProp scope (withMeProp, enableMeProp): a MePropConfig plus `exclude`, the matmuls the
 * scope leaves exact: those with one of these variables among their operands (e.g. `exclude: ['out']` keeps
 * the layer named 'out' exact). Layer names, variable names or tf.Variables, or a predicate over variable
 * names; every name must match an existing variable when the scope starts.
 */
export interface MePropScopeConfig extends MePropConfig {
  exclude?: MePropExclude;
}

/** What a meProp gradient function receives besides dy, the saved tensors and the attrs. */
export interface MePropGradientContext {
  /**
   * The active meProp config and its random generator; null when no scope is active, or when the scope's
   * `exclude` covers one of the saved tensors (compute the exact gradient).
   */
  runtime: MePropRuntime | null;
  /** tfjs's own gradient for the kernel, when one was registered before meProp took over. */
  original: tf.GradConfig | undefined;
}

/** Lazily computed gradients, one per input name (tfjs's gradient-function contract). */
export type GradientThunks = { [inputName: string]: () => tf.Tensor };

export interface MePropGradientSpec {
  /** Kernel name (e.g. 'BatchMatMul') or op-scope name a customGrad is taped under (e.g. 'fusedMatMul__op'). */
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc(
    dy: tf.Tensor | tf.Tensor[],
    saved: tf.Tensor[],
    attrs: tf.NamedAttrMap,
    runtime: MePropRuntime | null,
    context: MePropGradientContext,
  ): GradientThunks;
}

/** Returned by enableMeProp; `restore()` ends this scope (idempotent). */
export interface MePropHandle {
  readonly config: Readonly<MePropConfig>;
  readonly active: boolean;
  restore(): void;
}

const specs = new Map<string, MePropGradientSpec>();
const stack: Array<{ id: number; runtime: MePropRuntime; exclusion: Exclusion | undefined }> = [];
const originals = new Map<string, tf.GradConfig | undefined>();
let installed = false;
let nextId = 1;

function activeRuntime(): MePropRuntime | null {
  return stack.length === 0 ? null : stack[stack.length - 1].runtime;
}

function activeExclusion(): Exclusion | undefined {
  return stack.length === 0 ? undefined : stack[stack.length - 1].exclusion;
}

/** The runtime for a gradient with these saved tensors: null when the innermost scope excludes one of them. */
function runtimeFor(saved: tf.Tensor[]): MePropRuntime | null {
  const exclusion = activeExclusion();
  if (exclusion !== undefined && saved.some((t) => t !== undefined && t !== null && exclusion.covers(t.dataId))) return null;
  return activeRuntime();
}

function install(spec: MePropGradientSpec): void {
  if (!originals.has(spec.kernelName)) originals.set(spec.kernelName, tf.getGradient(spec.kernelName));
  const original = originals.get(spec.kernelName);
  tf.registerGradient({
    kernelName: spec.kernelName,
    inputsToSave: spec.inputsToSave,
    outputsToSave: spec.outputsToSave,
    saveAllInputs: spec.saveAllInputs,
    gradFunc: (dy, saved, attrs) => {
      const runtime = runtimeFor(saved);
      return spec.gradFunc(dy, saved, attrs, runtime, { runtime, original });
    },
  });
}

function uninstall(kernelName: string): void {
  const original = originals.get(kernelName);
  originals.delete(kernelName);
  if (original !== undefined) {
    tf.registerGradient(original);
  } else if (tf.getGradient(kernelName) !== undefined) {
    tf.unregisterGradient(kernelName);
  }
}

/**
 * Adds meProp for another kernel: while meProp is enabled, `spec.gradFunc` replaces that kernel's gradient.
 * Registering a name again replaces the earlier spec (also while enabled).
 */
export function registerMePropGradient(spec: MePropGradientSpec): void {
  if (spec === null || typeof spec !== 'object' || typeof spec.kernelName !== 'string' || spec.kernelName.length === 0) {
    throw new Error(`registerMePropGradient: spec.kernelName must be a non-empty string, got ${String(spec?.kernelName)}`);
  }
  if (typeof spec.gradFunc !== 'function') {
    throw new Error(`registerMePropGradient: spec.gradFunc for '${spec.kernelName}' must be a function`);
  }
  specs.set(spec.kernelName, spec);
  if (installed) install(spec);
}

/** Removes a spec added with registerMePropGradient (restoring the kernel's original gradient if enabled). */
export function unregisterMePropGradient(kernelName: string): void {
  if (!specs.has(kernelName)) {
    throw new Error(`unregisterMePropGradient: no meProp gradient is registered for kernelName '${kernelName}'`);
  }
  specs.delete(kernelName);
  if (installed) uninstall(kernelName);
}

/** Kernel names meProp overrides while enabled. */
export function mePropKernelNames(): string[] {
  return [...specs.keys()];
}

/** Whether a meProp scope is active, and its config. */
export function activeMePropConfig(): Readonly<MePropConfig> | null {
  const r = activeRuntime();
  return r === null ? null : r.config;
}

/**
 * Turns meProp on for every registered kernel until `restore()` (except the matmuls `config.exclude` covers). The scope must cover the forward pass and
 * the gradient computation of the steps it should affect (e.g. the whole `model.fit` call).
 */
export function enableMeProp(config: MePropScopeConfig): MePropHandle {
  const resolved = validateMePropConfig(config, 'config');
  const exclusion = Exclusion.from((config as MePropScopeConfig).exclude, 'config.exclude');
  const entry = { id: nextId++, runtime: makeRuntime(resolved), exclusion };
  stack.push(entry);
  if (!installed) {
    installed = true;
    installFusedRecorder();
    // After the fused recorder, which also wraps Identity: uninstalled in the reverse order.
    installExclusionTracker(activeExclusion);
    for (const spec of specs.values()) install(spec);
  }
  let active = true;
  return {
    config: resolved,
    get active() {
      return active;
    },
    restore() {
      if (!active) return;
      active = false;
      const i = stack.findIndex((e) => e.id === entry.id);
      if (i >= 0) stack.splice(i, 1);
      if (stack.length === 0 && installed) {
        for (const name of [...originals.keys()]) uninstall(name);
        uninstallExclusionTracker();
        uninstallFusedRecorder();
        installed = false;
      }
    },
  };
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function'
  );
}

/**
 * Runs `fn` with meProp on and restores the original gradients afterwards, also when `fn` throws or its
 * promise rejects. Returns what `fn` returns.
 */
export function withMeProp<T>(config: MePropScopeConfig, fn: () => T): T {
  if (typeof fn !== 'function') throw new Error(`withMeProp: fn must be a function, got ${typeof fn}`);
  const handle = enableMeProp(config);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    handle.restore();
    throw e;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).finally(() => handle.restore()) as unknown as T;
  }
  handle.restore();
  return result;
}
