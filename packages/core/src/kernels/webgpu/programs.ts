// meProp's steps as tfjs-backend-webgpu programs (WGSL compute shaders): one invocation per output entry over a
// flat dispatch; inputs are the storage arrays tfjs binds under each variable name (f32 or i32), indexed
// directly with the compile-time shapes. tfjs keys its pipeline cache on shaderKey plus ranks and dtypes only,
// so every constant baked into the source is in the key too.
import type { GpuPrograms } from '../gpu/gpu_programs';

/** The structural shape of tfjs-backend-webgpu's WebGPUProgram that we fill in. */
interface WebGPUProgramSpec {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

const WORKGROUP = 64;

// The ranking key (see gpu_programs.ts): |v|'s bits, NaN clamped to +Infinity's.
const KEY = `
  fn meKey(v : f32) -> u32 { return min(bitcast<u32>(v) & 0x7FFFFFFFu, 0x7F800000u); }
`;

function program(name: string, variableNames: string[], outputShape: [number, number], body: string): WebGPUProgramSpec {
  const size = outputShape[0] * outputShape[1];
  const cols = outputShape[1];
  return {
    variableNames,
    outputShape,
    shaderKey: `meProp_${name}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `${KEY}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let row = index / ${cols};
          let col = index % ${cols};
          ${body}
        }
      }`,
  };
}

/** Binary search of column j in the ascending row `row` of idx [., k]: declares `found` (slot or -1). */
function findSlot(k: number, row: string, j: string): string {
  return `
    var found = -1;
    var lo = 0;
    var hi = ${k - 1};
    loop {
      if (lo > hi) { break; }
      let mid = (lo + hi) / 2;
      let m = idx[${row} * ${k} + mid];
      if (m == ${j}) { found = mid; break; }
      if (m < ${j}) { lo = mid + 1; } else { hi = mid - 1; }
    }`;
}

export const webgpuPrograms: GpuPrograms = {
  columnScore: (M, N) =>
    program(
      `score_${M}_${N}`,
      ['dy'],
      [1, N],
      `
    var s = 0.0;
    for (var r = 0; r < ${M}; r++) { s += bitcast<f32>(meKey(dy[r * ${N} + col])); }
    setOutputAtIndex(index, s);`,
    ),

  kthLargest: (R, N, k) =>
    program(
      `kth_${R}_${N}_${k}`,
      ['x'],
      [R, 1],
      `
    let base = row * ${N};
    var prefix = 0u;
    var need = ${k};
    for (var shift = 28; shift >= 0; shift -= 4) {
      var counts : array<i32, 16>;
      for (var d = 0; d < 16; d++) { counts[d] = 0; }
      let high = select(~((1u << u32(shift + 4)) - 1u), 0u, shift == 28);
      for (var j = 0; j < ${N}; j++) {
        let key = meKey(x[base + j]);
        if ((key & high) == prefix) { counts[(key >> u32(shift)) & 15u] += 1; }
      }
      var d = 15;
      loop {
        if (d == 0 || counts[d] >= need) { break; }
        need -= counts[d];
        d--;
      }
      prefix |= u32(d) << u32(shift);
    }
    var at = 0;
    for (var j = 0; j < ${N}; j++) {
      if (meKey(x[base + j]) == prefix) { at = j; break; }
    }
    setOutputAtIndexI32(index, at);`,
    ),

  rowTies: (R, N, k) =>
    program(
      `ties_${R}_${N}_${k}`,
      ['x', 'pivot'],
      [R, 1],
      `
    let base = row * ${N};
    let thr = meKey(x[base + pivot[row]]);
    var above = 0;
    for (var j = 0; j < ${N}; j++) { above += select(0, 1, meKey(x[base + j]) > thr); }
    setOutputAtIndexI32(index, ${k} - above);`,
    ),

  blockCounts: (R, N, block) =>
    program(
      `blocks_${R}_${N}_${block}`,
      ['x', 'pivot'],
      [R, Math.ceil(N / block)],
      `
    let base = row * ${N};
    let thr = meKey(x[base + pivot[row]]);
    var above = 0;
    var equal = 0;
    for (var j = col * ${block}; j < min(col * ${block} + ${block}, ${N}); j++) {
      let key = meKey(x[base + j]);
      above += select(0, 1, key > thr);
      equal += select(0, 1, key == thr);
    }
    setOutputAtIndexI32(index, above + 128 * equal);`,
    ),

  keptIndices: (R, N, k, block) =>
    program(
      `kept_${R}_${N}_${k}_${block}`,
      ['x', 'pivot', 'tieCount', 'blocks'],
      [R, k],
      `
    let base = row * ${N};
    let thr = meKey(x[base + pivot[row]]);
    let ties = tieCount[row];
    var seen = 0;
    var seenTies = 0;
    var b = 0;
    loop {
      if (b >= ${Math.ceil(N / block)}) { break; }
      let v = blocks[row * ${Math.ceil(N / block)} + b];
      let equal = v / 128;
      let here = v - equal * 128 + clamp(ties - seenTies, 0, equal);
      if (seen + here > col) { break; }
      seen += here;
      seenTies += equal;
      b++;
    }
    var picked = 0;
    for (var j = b * ${block}; j < min(b * ${block} + ${block}, ${N}); j++) {
      let key = meKey(x[base + j]);
      let kept = key > thr || (key == thr && seenTies < ties);
      if (key == thr) { seenTies++; }
      if (kept) {
        if (seen == col) { picked = j; break; }
        seen++;
      }
    }
    setOutputAtIndexI32(index, picked);`,
    ),

  tileRow: (M, k) =>
    program(
      `tile_${M}_${k}`,
      ['idx'],
      [M, k],
      `
    setOutputAtIndexI32(index, idx[col]);`,
    ),

  gatherKept: (M, N, k) =>
    program(
      `gather_${M}_${N}_${k}`,
      ['dy', 'idx'],
      [M, k],
      `
    setOutputAtIndex(index, dy[row * ${N} + idx[index]]);`,
    ),

  sparseGradA: (M, K, N, k, transposeA, transposeB) =>
    program(
      `gradA_${M}_${K}_${N}_${k}_${transposeA}_${transposeB}`,
      ['idx', 'vals', 'b'],
      transposeA ? [K, M] : [M, K],
      `
    let r = ${transposeA ? 'col' : 'row'};
    let i = ${transposeA ? 'row' : 'col'};
    var acc = 0.0;
    for (var t = 0; t < ${k}; t++) {
      let j = idx[r * ${k} + t];
      acc += vals[r * ${k} + t] * b[${transposeB ? `j * ${K} + i` : `i * ${N} + j`}];
    }
    setOutputAtIndex(index, acc);`,
    ),

  densifyKept: (M, N, k) =>
    program(
      `densify_${M}_${N}_${k}`,
      ['idx', 'vals'],
      [M, N],
      `
    ${findSlot(k, 'row', 'col')}
    setOutputAtIndex(index, select(vals[row * ${k} + max(found, 0)], 0.0, found < 0));`,
    ),

  gatherAxis: (R, C, k, axis) =>
    program(
      `gatheraxis_${R}_${C}_${k}_${axis}`,
      ['x', 'idx'],
      axis === 1 ? [R, k] : [k, C],
      `
    let j = idx[${axis === 1 ? 'col' : 'row'}];
    setOutputAtIndex(index, x[${axis === 1 ? `row * ${C} + j` : `j * ${C} + col`}]);`,
    ),

  columnSlots: (k, N) =>
    program(
      `slots_${k}_${N}`,
      ['idx'],
      [1, N],
      `
    ${findSlot(k, '0', 'col')}
    setOutputAtIndexI32(index, found);`,
    ),

  columnCounts: (M, N) =>
    program(
      `counts_${M}_${N}`,
      ['dense'],
      [1, N],
      `
    var n = 0;
    for (var r = 0; r < ${M}; r++) { n += select(0, 1, dense[r * ${N} + col] != 0.0); }
    setOutputAtIndexI32(index, n);`,
    ),

  blockSums: (N, block) =>
    program(
      `blocksums_${N}_${block}`,
      ['counts'],
      [1, Math.ceil(N / block)],
      `
    let start = col * ${block};
    var n = 0;
    for (var j = start; j < min(start + ${block}, ${N}); j++) { n += counts[j]; }
    setOutputAtIndexI32(index, n);`,
    ),

  columnOffsets: (N, block) =>
    program(
      `offsets_${N}_${block}`,
      ['counts', 'sums'],
      [1, N],
      `
    let b = col / ${block};
    var n = 0;
    for (var q = 0; q < b; q++) { n += sums[q]; }
    for (var q = b * ${block}; q < col; q++) { n += counts[q]; }
    setOutputAtIndexI32(index, n);`,
    ),

  columnEntries: (M, N, k) =>
    program(
      `entries_${M}_${N}_${k}`,
      ['dense', 'offsets', 'counts'],
      [1, M * k],
      `
    let e = col;
    // The last column whose offset is <= e (columns with no entries share their successor's offset).
    var lo = 0;
    var hi = ${N - 1};
    loop {
      if (lo >= hi) { break; }
      let mid = (lo + hi + 1) / 2;
      if (offsets[mid] <= e) { lo = mid; } else { hi = mid - 1; }
    }
    var s = e - offsets[lo];
    var found = -1;
    if (s < counts[lo]) {
      for (var r = 0; r < ${M}; r++) {
        if (dense[r * ${N} + lo] != 0.0) {
          if (s == 0) { found = r; break; }
          s--;
        }
      }
    }
    setOutputAtIndexI32(index, found);`,
    ),

  sparseGradBColumns: (M, K, N, transposeA, transposeB) =>
    program(
      `gradBcols_${M}_${K}_${N}_${transposeA}_${transposeB}`,
      ['a', 'dense', 'rowOf', 'offsets', 'counts'],
      transposeB ? [N, K] : [K, N],
      `
    let i = ${transposeB ? 'col' : 'row'};
    let j = ${transposeB ? 'row' : 'col'};
    let start = offsets[j];
    let end = start + counts[j];
    var acc = 0.0;
    for (var e = start; e < end; e++) {
      let r = rowOf[e];
      acc += a[${transposeA ? `i * ${M} + r` : `r * ${K} + i`}] * dense[r * ${N} + j];
    }
    setOutputAtIndex(index, acc);`,
    ),

  scatterColumns: (k, K, N, rowsOut) =>
    program(
      `scatter_${k}_${K}_${N}_${rowsOut}`,
      ['rows', 'slot'],
      rowsOut ? [N, K] : [K, N],
      `
    let j = ${rowsOut ? 'row' : 'col'};
    let i = ${rowsOut ? 'col' : 'row'};
    let found = slot[j];
    setOutputAtIndex(index, select(rows[max(found, 0) * ${K} + i], 0.0, found < 0));`,
    ),
};
