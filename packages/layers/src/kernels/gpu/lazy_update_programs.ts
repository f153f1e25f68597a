// What the lazy optimizers' update needs from a GPU backend's shader language: small passes that find the
// touched columns (or slices) and compute their new values, then one full-size pass per output (weight, then
// each slot). The update rule's arithmetic is written once here, in the syntax GLSL and WGSL share; each
// backend supplies how an input entry and a hyper-parameter are read.
import type { LazyRule } from '../kernel_names';

/** An opaque backend program object (tfjs-backend-webgl's GPGPUProgram or tfjs-backend-webgpu's WebGPUProgram). */
export type GpuProgram = object;

/**
 * The hyper-parameters every update pass reads as uniforms (not baked into the source: Adam's bias
 * corrections change every step, and a new constant would compile a new program).
 */
export const UNIFORM_NAMES = ['lr', 'b1', 'b2', 'a1', 'a2', 'eps', 'c1', 'c2'] as const;
export type UniformName = (typeof UNIFORM_NAMES)[number];

/** Which output of the step a pass writes: the weight, or slot 0 / 1 of the rule (adam: m, v; adagrad: acc). */
export type LazyOutput = 'value' | 'slot0' | 'slot1';

export interface RulePass {
  rule: LazyRule;
  output: LazyOutput;
}

/** One output of a step from a dense gradient G [R, C] (weight and slots [R, C]). */
export interface DensePass extends RulePass {
  R: number;
  C: number;
  /** Whether a slot map [1, C] marks the touched columns (>= 0) and the others (-1). */
  lazy: boolean;
}

/** The new values [n, L] of one output at the n slices of G [n, L] taken along `axis` of the [R, C] weight. */
export interface SlicePass extends RulePass {
  R: number;
  C: number;
  axis: 0 | 1;
  n: number;
  /** Slots stored as [C, R] (the sparse step along columns keeps them that way). */
  slotsTransposed: boolean;
}

/** The slot inputs the value pass of a rule reads besides the old value and the gradient. */
export function valueExtras(p: RulePass): string[] {
  if (p.output !== 'value') return [];
  return p.rule === 'adam' ? ['lzM', 'lzV'] : p.rule === 'adagrad' ? ['lzAcc'] : [];
}

/** The inputs of a dense pass, in order: old value, slot map (when lazy), G, then the slots the value pass reads. */
export function denseInputNames(p: DensePass): string[] {
  return ['lzOld', ...(p.lazy ? ['lzSlot'] : []), 'lzG', ...valueExtras(p)];
}

/** The inputs of a slice pass: indices [1, n], G [n, L], the old output, then the slots the value pass reads. */
export function sliceInputNames(p: SlicePass): string[] {
  return ['lzIdx', 'lzG', 'lzOld', ...valueExtras(p)];
}

/**
 * The new value of one entry as an expression of `old`, `g` and the slot values read by `slot(name)`;
 * `u(name)` reads a hyper-parameter. The same operations, in the same order, as the cpu kernels
 * (kernels/host/lazy_updates.ts). Valid GLSL and WGSL, for scalars and (GLSL) vec4s alike.
 */
export function ruleExpression(p: RulePass, u: (n: UniformName) => string, slot: (name: string) => string): string {
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

// Shader models without scatter writes produce whole outputs; and SwiftShader (a CPU emulation) runs every
// branch of a shader for every entry under a mask. So the rule's arithmetic runs only on the n slices (small
// passes), and the full-size passes over the weight and its slots are a select between the old entry and a
// new slice value.
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
  /** One output of a dense step, [R, C]. Inputs: denseInputNames(p). */
  update(p: DensePass): GpuProgram;
  /** One output's new values at the slices, [n, L]. Inputs: sliceInputNames(p). */
  sliceUpdate(p: SlicePass): GpuProgram;
  /**
   * [P, Q]: `lzOld` with the entries of every mapped index replaced by the new slice values `lzNew` [n, L]. The
   * index d of entry (r, c) is c and its offset in the slice r when `dAlongColumns`, else the other way round.
   * Inputs `lzOld`, `lzSlot` [1, D], `lzNew`.
   */
  scatterSlices(P: number, Q: number, dAlongColumns: boolean, n: number): GpuProgram;
}
