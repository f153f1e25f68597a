// What the lazy optimizers' update needs from a GPU backend's shader language: a few small passes that find
// the touched columns (or slices), then one pass per output (weight, then each slot) that copies untouched
// entries and applies the rule to touched ones. The update rule's arithmetic is written once here, in the
// syntax GLSL and WGSL share; each backend supplies how an input entry and a hyper-parameter are read.
import type { LazyRule } from '../kernel_names';

/** An opaque backend program object (tfjs-backend-webgl's GPGPUProgram or tfjs-backend-webgpu's WebGPUProgram). */
export type GpuProgram = object;

/**
 * The hyper-parameters every update pass reads as uniforms (not baked into the source: Adam's bias
 * corrections change every step, and a new constant would compile a new program).
 */
export const UNIFORM_NAMES = ['lr', 'b1', 'b2', 'a1', 'a2', 'eps', 'c1', 'c2'] as const;
export type UniformName = (typeof UNIFORM_NAMES)[number];

/** Where one update pass finds the gradient of the weight entry (i, j). */
export type GradientSource =
  /** Slices G [n, L] along `axis` (0: rows of the weight, 1: columns), located through a slot map [1, D]. */
  | { kind: 'slices'; axis: 0 | 1 }
  /** A dense G [R, C]; when lazy, a slot map [1, C] marks the touched columns (>= 0) and the others (-1). */
  | { kind: 'dense'; lazy: boolean };

/** Which output of the step a pass writes: the weight, or slot 0 / 1 of the rule (adam: m, v; adagrad: acc). */
export type LazyOutput = 'value' | 'slot0' | 'slot1';

export interface UpdatePass {
  rule: LazyRule;
  output: LazyOutput;
  /** The weight's shape [R, C]. */
  R: number;
  C: number;
  source: GradientSource;
  /** Slots stored as [C, R] (the sparse step along columns keeps them that way). */
  slotsTransposed: boolean;
}

/** The inputs of an update pass, in order: old value of this output, the slot map (if any), G, then the slots the value pass reads. */
export function updateInputNames(p: UpdatePass): string[] {
  const names = ['lzOld'];
  if (p.source.kind === 'slices' || p.source.lazy) names.push('lzSlot');
  names.push('lzG');
  if (p.output === 'value' && p.rule === 'adam') names.push('lzM', 'lzV');
  if (p.output === 'value' && p.rule === 'adagrad') names.push('lzAcc');
  return names;
}

/**
 * The new value of one entry as an expression of `old`, `g` and the slot values read by `slot(name)`;
 * `u(name)` reads a hyper-parameter. The same operations, in the same order, as the cpu kernels
 * (kernels/host/lazy_updates.ts).
 */
export function ruleExpression(p: UpdatePass, u: (n: UniformName) => string, slot: (name: string) => string): string {
  const adamM = (m: string) => `(${m} * ${u('b1')} + g * ${u('a1')})`;
  const adamV = (v: string) => `(${v} * ${u('b2')} + g * g * ${u('a2')})`;
  if (p.rule === 'adam') {
    if (p.output === 'slot0') return adamM('old');
    if (p.output === 'slot1') return adamV('old');
    return `old - (${u('lr')} * (${adamM(slot('lzM'))} / ${u('c1')})) / (sqrt(${adamV(slot('lzV'))} / ${u('c2')}) + ${u('eps')})`;
  }
  if (p.rule === 'adagrad') {
    if (p.output === 'slot0') return 'old + g * g';
    return `old - (${u('lr')} * g) / sqrt(${slot('lzAcc')} + g * g + ${u('eps')})`;
  }
  return `old - ${u('lr')} * g`;
}

export interface LazyUpdatePrograms {
  /**
   * slot [1, D]: for each index d along the sliced axis, the first t with idx[t] = d, or -1; when `lazy`, also -1
   * when row t of G is all zero (no NaN). Inputs `lzIdx` [1, n], `lzG` [n, L].
   */
  sliceSlots(D: number, n: number, L: number, lazy: boolean): GpuProgram;
  /** G' [n, L]: the first occurrence of each index holds the sum of its duplicates' rows (others: 0). Inputs `lzIdx`, `lzG`. */
  mergeDuplicates(n: number, L: number): GpuProgram;
  /** slot [1, C]: j when column j of `lzG` [R, C] has a non-zero (or NaN) entry, else -1. */
  touchedColumns(R: number, C: number): GpuProgram;
  /** One output of the step, laid out like the stored tensor. Inputs: updateInputNames(p). */
  update(p: UpdatePass): GpuProgram;
}
