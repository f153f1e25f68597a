// The lazy update as tfjs-backend-webgl GPGPU programs (GLSL ES 3.00). Every program reads and writes packed
// textures (2x2 entries per texel): the weights and slots stay packed between steps, as tfjs's matMul wants
// them, so no pass packs or unpacks a weight. Hyper-parameters are uniforms: one compiled program per shape.
import {
  DensePass,
  denseInputNames,
  LazyUpdatePrograms,
  ruleExpression,
  SlicePass,
  sliceInputNames,
  UNIFORM_NAMES,
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

  update: (p: DensePass) =>
    // Every input is laid out like the output: the rule runs on whole texels (vec4), then a select per lane
    // keeps the untouched columns.
    packed(
      denseInputNames(p),
      [p.R, p.C],
      `
  void main() {
    ivec2 c = getOutputCoords();
    vec4 old = getLzOld(c.x, c.y);
    vec4 g = getLzG(c.x, c.y);
    ${valueExtrasRead(p)}
    vec4 next = ${ruleExpression(
      p,
      (n) => `lzU_${n}`,
      (name) => `${name}T`,
    )};
    ${
      p.lazy
        ? `vec4 sl = getLzSlot(0, c.y);
    setOutput(vec4(sl.x < 0.0 ? old.x : next.x, sl.y < 0.0 ? old.y : next.y, sl.x < 0.0 ? old.z : next.z, sl.y < 0.0 ? old.w : next.w));`
        : 'setOutput(next);'
    }
  }`,
      true,
    ),

  sliceUpdate: (p: SlicePass) => {
    const { R, C, n } = p;
    const L = p.axis === 1 ? R : C;
    const outT = p.output !== 'value' && p.slotsTransposed;
    // Entry (t, l) of the slices is the weight entry (i, j); each tensor is read in its own layout.
    const at = (name: string, transposed: boolean) => {
      const [r, c] = transposed ? ['j', 'i'] : ['i', 'j'];
      return `lzPick(get${name[0].toUpperCase()}${name.slice(1)}(${r}, ${c}), ${r}, ${c})`;
    };
    return packed(
      sliceInputNames(p),
      [n, L],
      `
  float lzLane(int t, int l) {
    if (t >= ${n} || l >= ${L}) return 0.0;
    int d = ${idxAt('t')};
    int i = ${p.axis === 1 ? 'l' : 'd'};
    int j = ${p.axis === 1 ? 'd' : 'l'};
    float old = ${at('lzOld', outT)};
    float g = lzPick(getLzG(t, l), t, l);
    return ${ruleExpression(
      p,
      (u) => `lzU_${u}`,
      (name) => at(name, p.slotsTransposed),
    )};
  }
  void main() {
    ivec2 c = getOutputCoords();
    setOutput(vec4(lzLane(c.x, c.y), lzLane(c.x, c.y + 1), lzLane(c.x + 1, c.y), lzLane(c.x + 1, c.y + 1)));
  }`,
      true,
    );
  },

  scatterSlices: (P, Q, dAlongColumns) => {
    // A texel covers two indices d (its two columns, or its two rows) and two offsets l, which sit side by
    // side in one row of the new slices: one texel of lzNew per index (.xy for an even slice row, .zw for odd).
    const d = dAlongColumns ? 'c.y' : 'c.x';
    const l = dAlongColumns ? 'c.x' : 'c.y';
    const pair = (s: string) => `(${s} - (${s} / 2) * 2 == 0 ? getLzNew(${s}, ${l}).xy : getLzNew(${s}, ${l}).zw)`;
    const lanes = dAlongColumns
      ? 'vec4(s0 < 0 ? old.x : a.x, s1 < 0 ? old.y : b.x, s0 < 0 ? old.z : a.y, s1 < 0 ? old.w : b.y)'
      : 'vec4(s0 < 0 ? old.x : a.x, s0 < 0 ? old.y : a.y, s1 < 0 ? old.z : b.x, s1 < 0 ? old.w : b.y)';
    return packed(
      ['lzOld', 'lzSlot', 'lzNew'],
      [P, Q],
      `
  void main() {
    ivec2 c = getOutputCoords();
    vec4 old = getLzOld(c.x, c.y);
    vec4 sl = getLzSlot(0, ${d});
    int s0 = int(sl.x);
    int s1 = int(sl.y);
    int r0 = max(s0, 0);
    int r1 = max(s1, 0);
    vec2 a = ${pair('r0')};
    vec2 b = ${pair('r1')};
    setOutput(${lanes});
  }`,
    );
  },
};

/** Declarations of the slot texels a dense value pass reads (same layout as the output). */
function valueExtrasRead(p: DensePass): string {
  if (p.output !== 'value') return '';
  if (p.rule === 'adam') return 'vec4 lzMT = getLzM(c.x, c.y);\n    vec4 lzVT = getLzV(c.x, c.y);';
  if (p.rule === 'adagrad') return 'vec4 lzAccT = getLzAcc(c.x, c.y);';
  return '';
}
