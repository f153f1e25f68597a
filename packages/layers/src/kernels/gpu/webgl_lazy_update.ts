// The lazy update as tfjs-backend-webgl GPGPU programs (GLSL ES 3.00). Every program reads and writes packed
// textures (2x2 entries per texel): the weights and slots stay packed between steps, as tfjs's matMul wants
// them, so no pass packs or unpacks a weight. Hyper-parameters are uniforms: one compiled program per shape.
import {
  GpuProgram,
  LazyUpdatePrograms,
  ruleExpression,
  UNIFORM_NAMES,
  UpdatePass,
  updateInputNames,
} from './lazy_update_programs';

interface WebGLProgramSpec {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  packedInputs: boolean;
  packedOutput: boolean;
  customUniforms?: Array<{ name: string; type: 'float' }>;
}

// A packed texel holds the block [(r, c), (r, c+1), (r+1, c), (r+1, c+1)].
const PICK = `
  float lzPick(vec4 v, int r, int c) {
    int q = (r - (r / 2) * 2) * 2 + (c - (c / 2) * 2);
    return q == 0 ? v.x : (q == 1 ? v.y : (q == 2 ? v.z : v.w));
  }
`;

function packed(variableNames: string[], outputShape: number[], code: string, uniforms = false): WebGLProgramSpec {
  return {
    variableNames,
    outputShape,
    packedInputs: true,
    packedOutput: true,
    userCode: `${PICK}\n${code}`,
    ...(uniforms ? { customUniforms: UNIFORM_NAMES.map((n) => ({ name: `lzU_${n}`, type: 'float' as const })) } : {}),
  };
}

/** A [1, D] int map written two lanes per texel by `lane(d)` (a GLSL function body returning float). */
function slotMap(variableNames: string[], D: number, lane: string): WebGLProgramSpec {
  return packed(
    variableNames,
    [1, D],
    `
  float lzLane(int d) {
    if (d >= ${D}) return -1.0;
    ${lane}
  }
  void main() {
    int q = getOutputCoords().y;
    setOutput(vec4(lzLane(q), lzLane(q + 1), -1.0, -1.0));
  }`,
  );
}

const idxAt = (t: string) => `int(lzPick(getLzIdx(0, ${t}), 0, ${t}))`;

export const webglLazyUpdatePrograms: LazyUpdatePrograms = {
  sliceSlots: (D, n, L, lazy) =>
    slotMap(
      ['lzIdx', 'lzG'],
      D,
      `
    int s = -1;
    for (int t = 0; t < ${n}; t++) {
      if (${idxAt('t')} == d) { s = t; break; }
    }
    if (s < 0) return -1.0;
    ${
      lazy
        ? `for (int l = 0; l < ${L}; l++) {
      if (lzPick(getLzG(s, l), s, l) != 0.0) return float(s);
    }
    return -1.0;`
        : 'return float(s);'
    }`,
    ),

  mergeDuplicates: (n, L) =>
    packed(
      ['lzIdx', 'lzG'],
      [n, L],
      `
  float lzLane(int t, int l) {
    if (t >= ${n} || l >= ${L}) return 0.0;
    int d = ${idxAt('t')};
    for (int u = 0; u < t; u++) {
      if (${idxAt('u')} == d) return 0.0;
    }
    float sum = 0.0;
    for (int u = t; u < ${n}; u++) {
      if (${idxAt('u')} == d) sum += lzPick(getLzG(u, l), u, l);
    }
    return sum;
  }
  void main() {
    ivec2 c = getOutputCoords();
    setOutput(vec4(lzLane(c.x, c.y), lzLane(c.x, c.y + 1), lzLane(c.x + 1, c.y), lzLane(c.x + 1, c.y + 1)));
  }`,
    ),

  touchedColumns: (R, C) =>
    packed(
      ['lzG'],
      [1, C],
      `
  void main() {
    int q = getOutputCoords().y;
    bool h0 = false;
    bool h1 = false;
    for (int r = 0; r < ${R}; r += 2) {
      vec4 v = getLzG(r, q);
      bool second = r + 1 < ${R};
      h0 = h0 || v.x != 0.0 || (second && v.z != 0.0);
      h1 = h1 || v.y != 0.0 || (second && v.w != 0.0);
    }
    h1 = h1 && q + 1 < ${C};
    setOutput(vec4(h0 ? float(q) : -1.0, h1 ? float(q + 1) : -1.0, -1.0, -1.0));
  }`,
    ),

  update: (p: UpdatePass): GpuProgram => {
    const { R, C, source } = p;
    const outT = p.output !== 'value' && p.slotsTransposed;
    const [P, Q] = outT ? [C, R] : [R, C];
    // (i, j): the weight entry of output entry (p, q); slot values are read in the slots' layout.
    const slotAt = (name: string) => {
      const [r, c] = p.slotsTransposed ? ['j', 'i'] : ['i', 'j'];
      return `lzPick(get${name[0].toUpperCase()}${name.slice(1)}(${r}, ${c}), ${r}, ${c})`;
    };
    let locate: string;
    if (source.kind === 'slices') {
      const [d, l] = source.axis === 1 ? ['j', 'i'] : ['i', 'j'];
      locate = `
    int s = int(lzPick(getLzSlot(0, ${d}), 0, ${d}));
    if (s < 0) return old;
    float g = lzPick(getLzG(s, ${l}), s, ${l});`;
    } else {
      locate = `
    ${source.lazy ? 'if (lzPick(getLzSlot(0, j), 0, j) < 0.0) return old;' : ''}
    float g = lzPick(getLzG(i, j), i, j);`;
    }
    return packed(
      updateInputNames(p),
      [P, Q],
      `
  float lzLane(int p, int q, float old) {
    if (p >= ${P} || q >= ${Q}) return old;
    int i = ${outT ? 'q' : 'p'};
    int j = ${outT ? 'p' : 'q'};
    ${locate}
    return ${ruleExpression(p, (n) => `lzU_${n}`, slotAt)};
  }
  void main() {
    ivec2 c = getOutputCoords();
    vec4 o = getLzOld(c.x, c.y);
    setOutput(vec4(lzLane(c.x, c.y, o.x), lzLane(c.x, c.y + 1, o.y), lzLane(c.x + 1, c.y, o.z), lzLane(c.x + 1, c.y + 1, o.w)));
  }`,
      true,
    );
  },
};
