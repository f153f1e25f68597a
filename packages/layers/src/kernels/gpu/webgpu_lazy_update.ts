// The lazy update as tfjs-backend-webgpu programs (WGSL compute shaders): one invocation per output entry,
// inputs read from the storage arrays tfjs binds under each variable name, with compile-time shapes (all in
// the shaderKey, which is what tfjs caches pipelines on). Hyper-parameters are uniforms.
import { LazyUpdatePrograms, ruleExpression, UNIFORM_NAMES, UpdatePass, updateInputNames } from './lazy_update_programs';

interface WebGPUProgramSpec {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  uniforms?: string;
  getUserCode(): string;
}

const WORKGROUP = 64;

function program(
  key: string,
  variableNames: string[],
  outputShape: [number, number],
  body: string,
  uniforms = false,
): WebGPUProgramSpec {
  const size = outputShape[0] * outputShape[1];
  const cols = outputShape[1];
  return {
    variableNames,
    outputShape,
    shaderKey: `mePropLazy_${key}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    ...(uniforms ? { uniforms: UNIFORM_NAMES.map((n) => `${n} : f32,`).join(' ') } : {}),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let row = index / ${cols};
          let col = index % ${cols};
          ${body}
        }
      }`,
  };
}

export const webgpuLazyUpdatePrograms: LazyUpdatePrograms = {
  sliceSlots: (D, n, L, lazy) =>
    program(
      `slots_${D}_${n}_${L}_${lazy}`,
      ['lzIdx', 'lzG'],
      [1, D],
      `
    var s = -1;
    for (var t = 0; t < ${n}; t++) {
      if (lzIdx[t] == col) { s = t; break; }
    }
    ${
      lazy
        ? `if (s >= 0) {
      var hit = false;
      for (var l = 0; l < ${L}; l++) {
        if (lzG[s * ${L} + l] != 0.0) { hit = true; break; }
      }
      if (!hit) { s = -1; }
    }`
        : ''
    }
    setOutputAtIndexI32(index, s);`,
    ),

  mergeDuplicates: (n, L) =>
    program(
      `merge_${n}_${L}`,
      ['lzIdx', 'lzG'],
      [n, L],
      `
    let d = lzIdx[row];
    var first = true;
    for (var u = 0; u < row; u++) {
      if (lzIdx[u] == d) { first = false; break; }
    }
    var sum = 0.0;
    if (first) {
      for (var u = row; u < ${n}; u++) {
        if (lzIdx[u] == d) { sum += lzG[u * ${L} + col]; }
      }
    }
    setOutputAtIndex(index, sum);`,
    ),

  touchedColumns: (R, C) =>
    program(
      `touched_${R}_${C}`,
      ['lzG'],
      [1, C],
      `
    var s = -1;
    for (var r = 0; r < ${R}; r++) {
      if (lzG[r * ${C} + col] != 0.0) { s = col; break; }
    }
    setOutputAtIndexI32(index, s);`,
    ),

  update: (p: UpdatePass) => {
    const { R, C, source } = p;
    const outT = p.output !== 'value' && p.slotsTransposed;
    const [P, Q] = outT ? [C, R] : [R, C];
    const slotAt = (name: string) => (p.slotsTransposed ? `${name}[j * ${R} + i]` : `${name}[i * ${C} + j]`);
    let locate: string;
    if (source.kind === 'slices') {
      const [d, l, L] = source.axis === 1 ? ['j', 'i', R] : ['i', 'j', C];
      locate = `
      let s = lzSlot[${d}];
      if (s < 0) { setOutputAtIndex(index, old); return; }
      let g = lzG[s * ${L} + ${l}];`;
    } else {
      locate = `
      ${source.lazy ? 'if (lzSlot[j] < 0) { setOutputAtIndex(index, old); return; }' : ''}
      let g = lzG[i * ${C} + j];`;
    }
    const key = `update_${p.rule}_${p.output}_${R}_${C}_${source.kind}_${source.kind === 'slices' ? source.axis : source.lazy}_${p.slotsTransposed}`;
    return program(
      key,
      updateInputNames(p),
      [P, Q],
      `
      let i = ${outT ? 'col' : 'row'};
      let j = ${outT ? 'row' : 'col'};
      let old = lzOld[index];
      ${locate}
      setOutputAtIndex(index, ${ruleExpression(p, (n) => `uniforms.${n}`, slotAt)});`,
      true,
    );
  },
};
