// meProp's steps as tfjs-backend-webgl GPGPU programs (GLSL ES 3.00, so WebGL 2): one fragment per output
// entry; shapes are compile-time constants. Inputs are read with the getters tfjs generates per variable
// name (getX(r, c), getIdx(r, t)...); int32 tensors live in float textures, hence the int() casts.
import type { GpuPrograms } from '../gpu/gpu_programs';

/** The structural shape of tfjs-backend-webgl's GPGPUProgram that we fill in. */
interface WebGLProgramSpec {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  packedInputs?: boolean;
  packedOutput?: boolean;
}

// With packed textures every texel holds a 2x2 block [(r, c), (r, c+1), (r+1, c), (r+1, c+1)].
const PICK = `
  float mePick(vec4 v, int r, int c) {
    int q = (r - (r / 2) * 2) * 2 + (c - (c / 2) * 2);
    return q == 0 ? v.x : (q == 1 ? v.y : (q == 2 ? v.z : v.w));
  }
`;

// The ranking key (see gpu_programs.ts): |v|'s bits, NaN clamped to +Infinity's.
const KEY = `
  uint meKey(float v) { return min(floatBitsToUint(v) & 0x7FFFFFFFu, 0x7F800000u); }
`;

function program(variableNames: string[], outputShape: number[], body: string): WebGLProgramSpec {
  return { variableNames, outputShape, userCode: `${KEY}\nvoid main() {\n${body}\n}` };
}

/** Binary search of column j in the ascending row r of idx[., 0..k): sets `found` to the slot or -1. */
function findSlot(k: number, row: string, j: string): string {
  return `
    int found = -1;
    int lo = 0;
    int hi = ${k - 1};
    while (lo <= hi) {
      int mid = (lo + hi) / 2;
      int m = int(getIdx(${row}, mid));
      if (m == ${j}) { found = mid; break; }
      if (m < ${j}) lo = mid + 1; else hi = mid - 1;
    }`;
}

export const webglPrograms: GpuPrograms = {
  columnScore: (M, N) =>
    program(
      ['dy'],
      [1, N],
      `
    int j = getOutputCoords().y;
    float s = 0.0;
    for (int r = 0; r < ${M}; r++) s += uintBitsToFloat(meKey(getDy(r, j)));
    setOutput(s);`,
    ),

  kthLargest: (R, N, k) =>
    program(
      ['x'],
      [R, 1],
      `
    int r = getOutputCoords().x;
    uint prefix = 0u;
    int need = ${k};
    for (int shift = 28; shift >= 0; shift -= 4) {
      int counts[16];
      for (int d = 0; d < 16; d++) counts[d] = 0;
      uint high = shift == 28 ? 0u : ~((1u << uint(shift + 4)) - 1u);
      for (int j = 0; j < ${N}; j++) {
        uint key = meKey(getX(r, j));
        if ((key & high) == prefix) counts[int((key >> uint(shift)) & 15u)]++;
      }
      int d = 15;
      for (; d > 0; d--) {
        if (counts[d] >= need) break;
        need -= counts[d];
      }
      prefix |= uint(d) << uint(shift);
    }
    int at = 0;
    for (int j = 0; j < ${N}; j++) {
      if (meKey(getX(r, j)) == prefix) { at = j; break; }
    }
    setOutput(float(at));`,
    ),

  rowTies: (R, N, k) =>
    program(
      ['x', 'at'],
      [R, 1],
      `
    int r = getOutputCoords().x;
    uint thr = meKey(getX(r, int(getAt(r, 0))));
    int above = 0;
    for (int j = 0; j < ${N}; j++) above += meKey(getX(r, j)) > thr ? 1 : 0;
    setOutput(float(${k} - above));`,
    ),

  blockCounts: (R, N, block) =>
    program(
      ['x', 'at'],
      [R, Math.ceil(N / block)],
      `
    ivec2 c = getOutputCoords();
    int r = c.x;
    uint thr = meKey(getX(r, int(getAt(r, 0))));
    int above = 0;
    int equal = 0;
    for (int j = c.y * ${block}; j < min(c.y * ${block} + ${block}, ${N}); j++) {
      uint key = meKey(getX(r, j));
      above += key > thr ? 1 : 0;
      equal += key == thr ? 1 : 0;
    }
    setOutput(float(above + 128 * equal));`,
    ),

  keptIndices: (R, N, k, block) =>
    program(
      ['x', 'at', 'ties', 'blocks'],
      [R, k],
      `
    ivec2 c = getOutputCoords();
    int r = c.x;
    int t = c.y;
    uint thr = meKey(getX(r, int(getAt(r, 0))));
    int ties = int(getTies(r, 0));
    int seen = 0;
    int seenTies = 0;
    int b = 0;
    for (; b < ${Math.ceil(N / block)}; b++) {
      int v = int(getBlocks(r, b));
      int equal = v / 128;
      int here = v - equal * 128 + clamp(ties - seenTies, 0, equal);
      if (seen + here > t) break;
      seen += here;
      seenTies += equal;
    }
    int col = 0;
    for (int j = b * ${block}; j < min(b * ${block} + ${block}, ${N}); j++) {
      uint key = meKey(getX(r, j));
      bool kept = key > thr || (key == thr && seenTies < ties);
      if (key == thr) seenTies++;
      if (kept) {
        if (seen == t) { col = j; break; }
        seen++;
      }
    }
    setOutput(float(col));`,
    ),

  tileRow: (M, k) =>
    program(
      ['idx'],
      [M, k],
      `
    setOutput(getIdx(0, getOutputCoords().y));`,
    ),

  gatherKept: (M, _N, k) =>
    program(
      ['dy', 'idx'],
      [M, k],
      `
    ivec2 c = getOutputCoords();
    setOutput(getDy(c.x, int(getIdx(c.x, c.y))));`,
    ),

  sparseGradA: (M, K, _N, k, transposeA, transposeB) => {
    // Packed in and out: a fragment computes 2 rows r of dy times 2 entries i of the weight's other axis; one
    // texel of idx and val holds 2 rows x 2 kept entries, and one texel of the (packed) weight holds the two
    // i of a kept column j. No transpose or unpacking of the weight, a quarter of the fragments.
    const pair = transposeB ? '(odd ? w.zw : w.xy)' : '(odd ? w.yw : w.xz)';
    const weightAt = transposeB ? 'getB(j, i0)' : 'getB(i0, j)';
    const term = (lane: string, acc: string) => `
      {
        int j = int(I.${lane});
        bool odd = (j - (j / 2) * 2) == 1;
        vec4 w = ${weightAt};
        ${acc} += V.${lane} * ${pair};
      }`;
    const pairOfT = (both: boolean) => `
      I = getIdx(r0, t);
      V = getVal(r0, t);
      ${term('x', 'a0')}${term('z', 'a1')}${both ? `${term('y', 'a0')}${term('w', 'a1')}` : ''}`;
    const full = Math.floor(k / 2) * 2;
    return {
      variableNames: ['idx', 'val', 'b'],
      outputShape: transposeA ? [K, M] : [M, K],
      packedInputs: true,
      packedOutput: true,
      userCode: `
    void main() {
      ivec2 c = getOutputCoords();
      int r0 = ${transposeA ? 'c.y' : 'c.x'};
      int i0 = ${transposeA ? 'c.x' : 'c.y'};
      vec2 a0 = vec2(0.0);
      vec2 a1 = vec2(0.0);
      vec4 I;
      vec4 V;
      for (int t = 0; t < ${full}; t += 2) {${pairOfT(true)}
      }
      ${k % 2 === 1 ? `{ int t = ${k - 1};${pairOfT(false)} }` : ''}
      setOutput(${transposeA ? 'vec4(a0.x, a1.x, a0.y, a1.y)' : 'vec4(a0, a1)'});
    }`,
    };
  },

  densifyKept: (M, N, k) =>
    program(
      ['idx', 'val'],
      [M, N],
      `
    ivec2 c = getOutputCoords();
    ${findSlot(k, 'c.x', 'c.y')}
    setOutput(found < 0 ? 0.0 : getVal(c.x, found));`,
    ),

  gatherAxis: (R, C, k, axis) => ({
    // Reads x packed (as matmul outputs and the weights updated by tfjs ops are): no unpacking of all of x.
    variableNames: ['x', 'idx'],
    outputShape: axis === 1 ? [R, k] : [k, C],
    packedInputs: true,
    userCode: `${PICK}
    void main() {
      ivec2 c = getOutputCoords();
      int t = ${axis === 1 ? 'c.y' : 'c.x'};
      int j = int(mePick(getIdx(0, t), 0, t));
      int r = ${axis === 1 ? 'c.x' : 'j'};
      int col = ${axis === 1 ? 'j' : 'c.y'};
      setOutput(mePick(getX(r, col), r, col));
    }`,
  }),

  columnSlots: (k, N) =>
    program(
      ['idx'],
      [1, N],
      `
    int j = getOutputCoords().y;
    ${findSlot(k, '0', 'j')}
    setOutput(float(found));`,
    ),

  columnCounts: (M, N) =>
    program(
      ['dense'],
      [1, N],
      `
    int j = getOutputCoords().y;
    int n = 0;
    for (int r = 0; r < ${M}; r++) n += getDense(r, j) != 0.0 ? 1 : 0;
    setOutput(float(n));`,
    ),

  blockSums: (N, block) =>
    program(
      ['counts'],
      [1, Math.ceil(N / block)],
      `
    int start = getOutputCoords().y * ${block};
    int n = 0;
    for (int j = start; j < min(start + ${block}, ${N}); j++) n += int(getCounts(0, j));
    setOutput(float(n));`,
    ),

  columnOffsets: (_N, block) =>
    program(
      ['counts', 'sums'],
      [1, _N],
      `
    int j = getOutputCoords().y;
    int b = j / ${block};
    int n = 0;
    for (int q = 0; q < b; q++) n += int(getSums(0, q));
    for (int q = b * ${block}; q < j; q++) n += int(getCounts(0, q));
    setOutput(float(n));`,
    ),

  columnEntries: (M, N, k) =>
    program(
      ['dense', 'offsets', 'counts'],
      [1, M * k],
      `
    int e = getOutputCoords().y;
    // The last column whose offset is <= e (columns with no entries share their successor's offset).
    int lo = 0;
    int hi = ${N - 1};
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (int(getOffsets(0, mid)) <= e) lo = mid; else hi = mid - 1;
    }
    int s = e - int(getOffsets(0, lo));
    int row = -1;
    if (s < int(getCounts(0, lo))) {
      for (int r = 0; r < ${M}; r++) {
        if (getDense(r, lo) != 0.0) {
          if (s == 0) { row = r; break; }
          s--;
        }
      }
    }
    setOutput(float(row));`,
    ),

  sparseGradBColumns: (_M, K, N, transposeA, transposeB) => {
    // Packed in and out: a fragment computes 2 columns j of db times 2 entries i; each entry of a column's
    // list gives a row r of a, whose texel holds both i. A quarter of the fragments of an unpacked pass.
    const aPair = transposeA ? '(rOdd ? x.yw : x.xz)' : '(rOdd ? x.zw : x.xy)';
    const aAt = transposeA ? 'getA(i0, r)' : 'getA(r, i0)';
    const column = (lane: 'x' | 'y', acc: string) => `
      {
        int start = int(off.${lane});
        int end = start + int(cnt.${lane});
        for (int e = start; e < end; e++) {
          int r = int(mePick(getRowOf(0, e), 0, e));
          bool rOdd = (r - (r / 2) * 2) == 1;
          vec4 d = getDense(r, j0);
          vec4 x = ${aAt};
          ${acc} += (rOdd ? d.${lane === 'x' ? 'z' : 'w'} : d.${lane}) * ${aPair};
        }
      }`;
    return {
      variableNames: ['a', 'dense', 'rowOf', 'offsets', 'counts'],
      outputShape: transposeB ? [N, K] : [K, N],
      packedInputs: true,
      packedOutput: true,
      userCode: `${PICK}
    void main() {
      ivec2 c = getOutputCoords();
      int i0 = ${transposeB ? 'c.y' : 'c.x'};
      int j0 = ${transposeB ? 'c.x' : 'c.y'};
      vec4 off = getOffsets(0, j0);
      vec4 cnt = getCounts(0, j0);
      if (j0 + 1 >= ${N}) cnt.y = 0.0;
      vec2 a0 = vec2(0.0);
      vec2 a1 = vec2(0.0);
      ${column('x', 'a0')}${column('y', 'a1')}
      setOutput(${transposeB ? 'vec4(a0, a1)' : 'vec4(a0.x, a1.x, a0.y, a1.y)'});
    }`,
    };
  },

  columnEntryPairs: (M, N, k) => {
    const E = M * k;
    return {
      // Packed: a texel holds entries e, e+1 (row 0: their rows, row 1: their values).
      variableNames: ['dense', 'offsets', 'counts'],
      outputShape: [2, E],
      packedInputs: true,
      packedOutput: true,
      userCode: `${PICK}
    vec2 meEntry(int e) {
      if (e >= ${E}) return vec2(-1.0, 0.0);
      // The last column whose offset is <= e (columns with no entries share their successor's offset).
      int lo = 0;
      int hi = ${N - 1};
      while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (int(mePick(getOffsets(0, mid), 0, mid)) <= e) lo = mid; else hi = mid - 1;
      }
      int s = e - int(mePick(getOffsets(0, lo), 0, lo));
      if (s >= int(mePick(getCounts(0, lo), 0, lo))) return vec2(-1.0, 0.0);
      bool odd = (lo - (lo / 2) * 2) == 1;
      for (int r = 0; r < ${M}; r += 2) {
        vec4 d = getDense(r, lo);
        float v0 = odd ? d.y : d.x;
        float v1 = odd ? d.w : d.z;
        if (v0 != 0.0) {
          if (s == 0) return vec2(float(r), v0);
          s--;
        }
        if (r + 1 < ${M} && v1 != 0.0) {
          if (s == 0) return vec2(float(r + 1), v1);
          s--;
        }
      }
      return vec2(-1.0, 0.0);
    }
    void main() {
      int e = getOutputCoords().y;
      vec2 p0 = meEntry(e);
      vec2 p1 = meEntry(e + 1);
      setOutput(vec4(p0.x, p1.x, p0.y, p1.y));
    }`,
    };
  },

  sparseGradBPairs: (_M, K, N, transposeA, transposeB) => {
    // Packed in and out: a fragment computes 2 columns j of db times 2 entries i. The two columns' entry lists
    // are contiguous: one loop over both, two entries (rows and values) per texel of the pairs, and one texel
    // of a per entry holding both i.
    const aPair = transposeA ? '(rOdd ? x.yw : x.xz)' : '(rOdd ? x.zw : x.xy)';
    const aAt = transposeA ? 'getA(i0, r)' : 'getA(r, i0)';
    const entry = (rowLane: string, valLane: string, e: string) => `
        if (${e} >= start && ${e} < end) {
          int r = int(p.${rowLane});
          bool rOdd = (r - (r / 2) * 2) == 1;
          vec4 x = ${aAt};
          vec2 term = p.${valLane} * ${aPair};
          if (${e} < split) a0 += term; else a1 += term;
        }`;
    return {
      variableNames: ['a', 'pairs', 'offsets', 'counts'],
      outputShape: transposeB ? [N, K] : [K, N],
      packedInputs: true,
      packedOutput: true,
      userCode: `
    void main() {
      ivec2 c = getOutputCoords();
      int i0 = ${transposeB ? 'c.y' : 'c.x'};
      int j0 = ${transposeB ? 'c.x' : 'c.y'};
      vec4 off = getOffsets(0, j0);
      vec4 cnt = getCounts(0, j0);
      int start = int(off.x);
      int split = start + int(cnt.x);
      int end = j0 + 1 < ${N} ? int(off.y) + int(cnt.y) : split;
      vec2 a0 = vec2(0.0);
      vec2 a1 = vec2(0.0);
      for (int e = start - (start - (start / 2) * 2); e < end; e += 2) {
        vec4 p = getPairs(0, e);${entry('x', 'z', 'e')}${entry('y', 'w', 'e + 1')}
      }
      setOutput(${transposeB ? 'vec4(a0, a1)' : 'vec4(a0.x, a1.x, a0.y, a1.y)'});
    }`,
    };
  },

  scatterColumns: (_k, K, N, rowsOut) => {
    // Packed output: the dense weight gradient is consumed by tfjs's packed ops (the optimizer's), which would
    // otherwise pack all of it again; each fragment writes one 2x2 block.
    const [rowsTotal, colsTotal] = rowsOut ? [N, K] : [K, N];
    const value = (rr: string, cc: string) => `
      if (${rr} < ${rowsTotal} && ${cc} < ${colsTotal}) {
        int j = ${rowsOut ? rr : cc};
        int i = ${rowsOut ? cc : rr};
        int found = int(getSlot(0, j));
        if (found >= 0) v = getRows(found, i);
      }`;
    return {
      variableNames: ['rows', 'slot'],
      outputShape: [rowsTotal, colsTotal],
      packedOutput: true,
      userCode: `void main() {
      ivec2 c = getOutputCoords();
      vec4 out4 = vec4(0.0);
      float v;
      v = 0.0; ${value('c.x', 'c.y')} out4.x = v;
      v = 0.0; ${value('c.x', 'c.y + 1')} out4.y = v;
      v = 0.0; ${value('c.x + 1', 'c.y')} out4.z = v;
      v = 0.0; ${value('c.x + 1', 'c.y + 1')} out4.w = v;
      setOutput(out4);
    }`,
    };
  },
};
