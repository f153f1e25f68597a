// The lazy update as tfjs-backend-webgpu programs (WGSL compute shaders): one invocation per output entry,
// inputs read from the storage arrays tfjs binds under each variable name, with compile-time shapes (all in
// the shaderKey, which is what tfjs caches pipelines on). Hyper-parameters are uniforms.
import {
  DensePass,
  denseInputNames,
  LazyUpdatePrograms,
  ruleExpression,
  SlicePass,
  sliceInputNames,
  UNIFORM_NAMES,
} from './lazy_update_programs';

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

  update: (p: DensePass) =>
    program(
      `update_${p.rule}_${p.output}_${p.R}_${p.C}_${p.lazy}`,
      denseInputNames(p),
      [p.R, p.C],
      `
      let old = lzOld[index];
      let g = lzG[index];
      let next = ${ruleExpression(
        p,
        (n) => `uniforms.${n}`,
        (name) => `${name}[index]`,
      )};
      setOutputAtIndex(index, ${p.lazy ? 'select(next, old, lzSlot[col] < 0)' : 'next'});`,
      true,
    ),

  sliceUpdate: (p: SlicePass) => {
    const { R, C, n } = p;
    const L = p.axis === 1 ? R : C;
    const outT = p.output !== 'value' && p.slotsTransposed;
    const at = (name: string, transposed: boolean) => (transposed ? `${name}[j * ${R} + i]` : `${name}[i * ${C} + j]`);
    return program(
      `slice_${p.rule}_${p.output}_${R}_${C}_${p.axis}_${n}_${p.slotsTransposed}`,
      sliceInputNames(p),
      [n, L],
      `
      let d = lzIdx[row];
      let i = ${p.axis === 1 ? 'col' : 'd'};
      let j = ${p.axis === 1 ? 'd' : 'col'};
      let old = ${at('lzOld', outT)};
      let g = lzG[index];
      setOutputAtIndex(index, ${ruleExpression(
        p,
        (u) => `uniforms.${u}`,
        (name) => at(name, p.slotsTransposed),
      )});`,
      true,
    );
  },

  scatterSlices: (P, Q, dAlongColumns, n) => {
    const [d, l, L] = dAlongColumns ? ['col', 'row', P] : ['row', 'col', Q];
    return program(
      `scatter_${P}_${Q}_${dAlongColumns}_${n}`,
      ['lzOld', 'lzSlot', 'lzNew'],
      [P, Q],
      `
      let s = lzSlot[${d}];
      setOutputAtIndex(index, select(lzNew[max(s, 0) * ${L} + ${l}], lzOld[index], s < 0));`,
    );
  },
};
