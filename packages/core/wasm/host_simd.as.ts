// AssemblyScript source of the WebAssembly versions of host kernels' hot loops: the per-position conv backward
// of ../src/kernels/host/sparse_conv_grad.ts (see that file for what they compute) and the small-k per-row
// top-k of ../src/kernels/host/top_k_small.ts. Built by
// `npm run build:wasm -w @meprop/core` into ../src/kernels/host/host_simd_bytes.ts (committed; a test
// rebuilds it and compares).
//
// Same bits as the JavaScript loops: every sum runs in float64, in the same order, two lanes at a time
// (f64x2: the float32 inputs are promoted, products and sums are IEEE float64 as in JavaScript, and WebAssembly
// never fuses a multiply-add), and each float32 output is rounded from the same float64 value.
//
// All arguments are byte offsets into this module's memory, which the caller fills and grows.


@inline
function lo2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

// Σ v_t · promote(p_t[o], p_t[o + 1]) over 8 (4) terms, left to right: the sum JavaScript's
// `v0 * a0 + v1 * a1 + ...` computes, two lanes at once.
@inline
function dot8(
  v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, v6: v128, v7: v128,
  p0: usize, p1: usize, p2: usize, p3: usize, p4: usize, p5: usize, p6: usize, p7: usize, o: usize,
): v128 {
  let s = f64x2.mul(v0, lo2(p0 + o));
  s = f64x2.add(s, f64x2.mul(v1, lo2(p1 + o)));
  s = f64x2.add(s, f64x2.mul(v2, lo2(p2 + o)));
  s = f64x2.add(s, f64x2.mul(v3, lo2(p3 + o)));
  s = f64x2.add(s, f64x2.mul(v4, lo2(p4 + o)));
  s = f64x2.add(s, f64x2.mul(v5, lo2(p5 + o)));
  s = f64x2.add(s, f64x2.mul(v6, lo2(p6 + o)));
  return f64x2.add(s, f64x2.mul(v7, lo2(p7 + o)));
}

@inline
function dot4(v0: v128, v1: v128, v2: v128, v3: v128, p0: usize, p1: usize, p2: usize, p3: usize, o: usize): v128 {
  let s = f64x2.mul(v0, lo2(p0 + o));
  s = f64x2.add(s, f64x2.mul(v1, lo2(p1 + o)));
  s = f64x2.add(s, f64x2.mul(v2, lo2(p2 + o)));
  return f64x2.add(s, f64x2.mul(v3, lo2(p3 + o)));
}

// The same sums for one element (the last of an odd count): lane 0 of each v, scalar loads.
@inline
function at(p: usize, o: usize): f64 {
  return <f64>load<f32>(p + o);
}
@inline
function lane(v: v128): f64 {
  return f64x2.extract_lane(v, 0);
}
@inline
function dot8s(
  v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, v6: v128, v7: v128,
  p0: usize, p1: usize, p2: usize, p3: usize, p4: usize, p5: usize, p6: usize, p7: usize, o: usize,
): f64 {
  let s = lane(v0) * at(p0, o);
  s += lane(v1) * at(p1, o);
  s += lane(v2) * at(p2, o);
  s += lane(v3) * at(p3, o);
  s += lane(v4) * at(p4, o);
  s += lane(v5) * at(p5, o);
  s += lane(v6) * at(p6, o);
  return s + lane(v7) * at(p7, o);
}
@inline
function dot4s(v0: v128, v1: v128, v2: v128, v3: v128, p0: usize, p1: usize, p2: usize, p3: usize, o: usize): f64 {
  let s = lane(v0) * at(p0, o);
  s += lane(v1) * at(p1, o);
  s += lane(v2) * at(p2, o);
  return s + lane(v3) * at(p3, o);
}

// dx [B, H, W, CI] += the kept entries of dy times the filter, position by position (dx zeroed by the caller).
// wT: the filter as [CO, FH, FW, CI] float32; idx/val: [P, k] int32/float32; patch: [FH·FW·CI] float64 scratch;
// vs: [k] float64 and offs: [k] int32 scratch.
export function gradInput(
  B: i32, H: i32, W: i32, CI: i32, OH: i32, OW: i32, FH: i32, FW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, k: i32,
  idx: usize, val: usize, wT: usize, dx: usize, patch: usize, vs: usize, offs: usize,
): void {
  const patchSize = FH * FW * CI;
  const pairs = patchSize & ~1;
  const ciPairs = CI & ~1;
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        let n = 0;
        for (let t = 0; t < k; t++) {
          const e = (<usize>(p * k + t)) << 2;
          const v = load<f32>(val + e);
          if (v == 0) continue;
          store<f64>(vs + ((<usize>n) << 3), <f64>v);
          store<i32>(offs + ((<usize>n) << 2), load<i32>(idx + e) * patchSize);
          n++;
        }
        if (n == 0) continue;
        memory.fill(patch, 0, (<usize>patchSize) << 3);
        let t = 0;
        for (; t + 8 <= n; t += 8) {
          const v0 = f64x2.splat(load<f64>(vs + ((<usize>t) << 3)));
          const v1 = f64x2.splat(load<f64>(vs + ((<usize>(t + 1)) << 3)));
          const v2 = f64x2.splat(load<f64>(vs + ((<usize>(t + 2)) << 3)));
          const v3 = f64x2.splat(load<f64>(vs + ((<usize>(t + 3)) << 3)));
          const v4 = f64x2.splat(load<f64>(vs + ((<usize>(t + 4)) << 3)));
          const v5 = f64x2.splat(load<f64>(vs + ((<usize>(t + 5)) << 3)));
          const v6 = f64x2.splat(load<f64>(vs + ((<usize>(t + 6)) << 3)));
          const v7 = f64x2.splat(load<f64>(vs + ((<usize>(t + 7)) << 3)));
          const w0 = wT + ((<usize>load<i32>(offs + ((<usize>t) << 2))) << 2);
          const w1 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 1)) << 2))) << 2);
          const w2 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 2)) << 2))) << 2);
          const w3 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 3)) << 2))) << 2);
          const w4 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 4)) << 2))) << 2);
          const w5 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 5)) << 2))) << 2);
          const w6 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 6)) << 2))) << 2);
          const w7 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 7)) << 2))) << 2);
          let j = 0;
          for (; j < pairs; j += 2) {
            const s = dot8(v0, v1, v2, v3, v4, v5, v6, v7, w0, w1, w2, w3, w4, w5, w6, w7, (<usize>j) << 2);
            const pp = patch + ((<usize>j) << 3);
            v128.store(pp, f64x2.add(v128.load(pp), s));
          }
          if (j < patchSize) {
            const s = dot8s(v0, v1, v2, v3, v4, v5, v6, v7, w0, w1, w2, w3, w4, w5, w6, w7, (<usize>j) << 2);
            const pp = patch + ((<usize>j) << 3);
            store<f64>(pp, load<f64>(pp) + s);
          }
        }
        for (; t + 4 <= n; t += 4) {
          const v0 = f64x2.splat(load<f64>(vs + ((<usize>t) << 3)));
          const v1 = f64x2.splat(load<f64>(vs + ((<usize>(t + 1)) << 3)));
          const v2 = f64x2.splat(load<f64>(vs + ((<usize>(t + 2)) << 3)));
          const v3 = f64x2.splat(load<f64>(vs + ((<usize>(t + 3)) << 3)));
          const w0 = wT + ((<usize>load<i32>(offs + ((<usize>t) << 2))) << 2);
          const w1 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 1)) << 2))) << 2);
          const w2 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 2)) << 2))) << 2);
          const w3 = wT + ((<usize>load<i32>(offs + ((<usize>(t + 3)) << 2))) << 2);
          let j = 0;
          for (; j < pairs; j += 2) {
            const s = dot4(v0, v1, v2, v3, w0, w1, w2, w3, (<usize>j) << 2);
            const pp = patch + ((<usize>j) << 3);
            v128.store(pp, f64x2.add(v128.load(pp), s));
          }
          if (j < patchSize) {
            const s = dot4s(v0, v1, v2, v3, w0, w1, w2, w3, (<usize>j) << 2);
            const pp = patch + ((<usize>j) << 3);
            store<f64>(pp, load<f64>(pp) + s);
          }
        }
        for (; t < n; t++) {
          const v0 = f64x2.splat(load<f64>(vs + ((<usize>t) << 3)));
          const w0 = wT + ((<usize>load<i32>(offs + ((<usize>t) << 2))) << 2);
          let j = 0;
          for (; j < pairs; j += 2) {
            const pp = patch + ((<usize>j) << 3);
            v128.store(pp, f64x2.add(v128.load(pp), f64x2.mul(v0, lo2(w0 + ((<usize>j) << 2)))));
          }
          if (j < patchSize) {
            const pp = patch + ((<usize>j) << 3);
            store<f64>(pp, load<f64>(pp) + f64x2.extract_lane(v0, 0) * <f64>load<f32>(w0 + ((<usize>j) << 2)));
          }
        }
        for (let fh = 0; fh < FH; fh++) {
          const h = oh * sh + fh * dh - pt;
          if (h < 0 || h >= H) continue;
          for (let fw = 0; fw < FW; fw++) {
            const w = ow * sw + fw * dw - pl;
            if (w < 0 || w >= W) continue;
            const d = dx + ((<usize>(((b * H + h) * W + w) * CI)) << 2);
            const q = patch + ((<usize>((fh * FW + fw) * CI)) << 3);
            let ci = 0;
            for (; ci < ciPairs; ci += 2) {
              const dp = d + ((<usize>ci) << 2);
              const sum = f64x2.add(lo2(dp), v128.load(q + ((<usize>ci) << 3)));
              v128.store64_lane(dp, f32x4.demote_f64x2_zero(sum), 0);
            }
            if (ci < CI) {
              const dp = d + ((<usize>ci) << 2);
              store<f32>(dp, <f32>(<f64>load<f32>(dp) + load<f64>(q + ((<usize>ci) << 3))));
            }
          }
        }
      }
    }
  }
}

// dW's block of channels [co0, co1) from x [B, H, W, CI] (float32) and the kept entries regrouped by channel:
// entPos/entVal [n] (int32/float64), start [CO + 1] (int32), per position corner/h0s/w0s (int32) and inside (u8),
// tapX [FH·FW] (int32, element offsets); dW [FH, FW, CI, CO] float32; acc [FH·FW·CI] float64 scratch.
export function gradFilter(
  H: i32, W: i32, CI: i32, CO: i32, FH: i32, FW: i32, dh: i32, dw: i32,
  entPos: usize, entVal: usize, start: usize, corner: usize, inside: usize, h0s: usize, w0s: usize, tapX: usize,
  x: usize, dW: usize, acc: usize,
): void {
  const FHW = FH * FW;
  const patchSize = FHW * CI;
  const ciPairs = CI & ~1;
  for (let co = 0; co < CO; co++) {
    memory.fill(acc, 0, (<usize>patchSize) << 3);
    let e = load<i32>(start + ((<usize>co) << 2));
    const end = load<i32>(start + ((<usize>(co + 1)) << 2));
    while (e < end) {
      const p0 = load<i32>(entPos + ((<usize>e) << 2));
      if (
        e + 8 <= end &&
        load<u8>(inside + <usize>p0) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 1)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 2)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 3)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 4)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 5)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 6)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 7)) << 2))) != 0
      ) {
        const v0 = f64x2.splat(load<f64>(entVal + ((<usize>e) << 3)));
        const v1 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 1)) << 3)));
        const v2 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 2)) << 3)));
        const v3 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 3)) << 3)));
        const v4 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 4)) << 3)));
        const v5 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 5)) << 3)));
        const v6 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 6)) << 3)));
        const v7 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 7)) << 3)));
        const c0 = load<i32>(corner + ((<usize>p0) << 2));
        const c1 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 1)) << 2))) << 2));
        const c2 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 2)) << 2))) << 2));
        const c3 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 3)) << 2))) << 2));
        const c4 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 4)) << 2))) << 2));
        const c5 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 5)) << 2))) << 2));
        const c6 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 6)) << 2))) << 2));
        const c7 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 7)) << 2))) << 2));
        for (let f = 0; f < FHW; f++) {
          const a = acc + ((<usize>(f * CI)) << 3);
          const o = load<i32>(tapX + ((<usize>f) << 2));
          const x0 = x + ((<usize>(c0 + o)) << 2);
          const x1 = x + ((<usize>(c1 + o)) << 2);
          const x2 = x + ((<usize>(c2 + o)) << 2);
          const x3 = x + ((<usize>(c3 + o)) << 2);
          const x4 = x + ((<usize>(c4 + o)) << 2);
          const x5 = x + ((<usize>(c5 + o)) << 2);
          const x6 = x + ((<usize>(c6 + o)) << 2);
          const x7 = x + ((<usize>(c7 + o)) << 2);
          let ci = 0;
          for (; ci < ciPairs; ci += 2) {
            const s = dot8(v0, v1, v2, v3, v4, v5, v6, v7, x0, x1, x2, x3, x4, x5, x6, x7, (<usize>ci) << 2);
            const ap = a + ((<usize>ci) << 3);
            v128.store(ap, f64x2.add(v128.load(ap), s));
          }
          if (ci < CI) {
            const s = dot8s(v0, v1, v2, v3, v4, v5, v6, v7, x0, x1, x2, x3, x4, x5, x6, x7, (<usize>ci) << 2);
            const ap = a + ((<usize>ci) << 3);
            store<f64>(ap, load<f64>(ap) + s);
          }
        }
        e += 8;
        continue;
      }
      if (
        e + 4 <= end &&
        load<u8>(inside + <usize>p0) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 1)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 2)) << 2))) != 0 &&
        load<u8>(inside + <usize>load<i32>(entPos + ((<usize>(e + 3)) << 2))) != 0
      ) {
        const v0 = f64x2.splat(load<f64>(entVal + ((<usize>e) << 3)));
        const v1 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 1)) << 3)));
        const v2 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 2)) << 3)));
        const v3 = f64x2.splat(load<f64>(entVal + ((<usize>(e + 3)) << 3)));
        const c0 = load<i32>(corner + ((<usize>p0) << 2));
        const c1 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 1)) << 2))) << 2));
        const c2 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 2)) << 2))) << 2));
        const c3 = load<i32>(corner + ((<usize>load<i32>(entPos + ((<usize>(e + 3)) << 2))) << 2));
        for (let f = 0; f < FHW; f++) {
          const a = acc + ((<usize>(f * CI)) << 3);
          const o = load<i32>(tapX + ((<usize>f) << 2));
          const x0 = x + ((<usize>(c0 + o)) << 2);
          const x1 = x + ((<usize>(c1 + o)) << 2);
          const x2 = x + ((<usize>(c2 + o)) << 2);
          const x3 = x + ((<usize>(c3 + o)) << 2);
          let ci = 0;
          for (; ci < ciPairs; ci += 2) {
            const s = dot4(v0, v1, v2, v3, x0, x1, x2, x3, (<usize>ci) << 2);
            const ap = a + ((<usize>ci) << 3);
            v128.store(ap, f64x2.add(v128.load(ap), s));
          }
          if (ci < CI) {
            const s = dot4s(v0, v1, v2, v3, x0, x1, x2, x3, (<usize>ci) << 2);
            const ap = a + ((<usize>ci) << 3);
            store<f64>(ap, load<f64>(ap) + s);
          }
        }
        e += 4;
        continue;
      }
      // One entry, with bounds checks (its field may cross the padding).
      const v = load<f64>(entVal + ((<usize>e) << 3));
      const h0 = load<i32>(h0s + ((<usize>p0) << 2));
      const w0 = load<i32>(w0s + ((<usize>p0) << 2));
      const c = load<i32>(corner + ((<usize>p0) << 2));
      for (let fh = 0; fh < FH; fh++) {
        const h = h0 + fh * dh;
        if (h < 0 || h >= H) continue;
        for (let fw = 0; fw < FW; fw++) {
          const w = w0 + fw * dw;
          if (w < 0 || w >= W) continue;
          const a = acc + ((<usize>((fh * FW + fw) * CI)) << 3);
          const xo = x + ((<usize>(c + load<i32>(tapX + ((<usize>(fh * FW + fw)) << 2)))) << 2);
          for (let ci = 0; ci < CI; ci++) {
            const ap = a + ((<usize>ci) << 3);
            store<f64>(ap, load<f64>(ap) + v * <f64>load<f32>(xo + ((<usize>ci) << 2)));
          }
        }
      }
      e++;
    }
    for (let j = 0; j < patchSize; j++) {
      store<f32>(dW + ((<usize>(j * CO + co)) << 2), <f32>load<f64>(acc + ((<usize>j) << 3)));
    }
  }
}

// Per row of src [rows, cols] (float32): the k largest |v| (NaN largest, ties to the lower index) as ascending
// indices outIdx [rows, k] (int32) and their values outVal [rows, k]; bufIdx [k] int32 and bufMag [k] float64
// scratch. The same algorithm as topKIndicesSmall (a sorted buffer of k with insertion), so the same output.
export function selectSmall(src: usize, rows: i32, cols: i32, k: i32, outIdx: usize, outVal: usize, bufIdx: usize, bufMag: usize): void {
  const last = bufMag + ((<usize>(k - 1)) << 3);
  for (let r = 0; r < rows; r++) {
    const row = src + ((<usize>(r * cols)) << 2);
    let count = 0;
    for (let j = 0; j < cols; j++) {
      const v = load<f32>(row + ((<usize>j) << 2));
      const m: f64 = v != v ? Infinity : v < 0 ? <f64>-v : <f64>v;
      // Scanning in ascending index order: an equal magnitude never displaces an earlier index.
      if (count == k && !(m > load<f64>(last))) continue;
      let pos = count < k ? count++ : k - 1;
      while (pos > 0) {
        const prev = load<f64>(bufMag + ((<usize>(pos - 1)) << 3));
        if (!(m > prev)) break;
        store<f64>(bufMag + ((<usize>pos) << 3), prev);
        store<i32>(bufIdx + ((<usize>pos) << 2), load<i32>(bufIdx + ((<usize>(pos - 1)) << 2)));
        pos--;
      }
      store<f64>(bufMag + ((<usize>pos) << 3), m);
      store<i32>(bufIdx + ((<usize>pos) << 2), j);
    }
    // Insertion sort of the k indices, ascending, then their values.
    const out = outIdx + ((<usize>(r * k)) << 2);
    for (let a = 0; a < k; a++) {
      const id = load<i32>(bufIdx + ((<usize>a) << 2));
      let b = a;
      while (b > 0) {
        const before = load<i32>(out + ((<usize>(b - 1)) << 2));
        if (before <= id) break;
        store<i32>(out + ((<usize>b) << 2), before);
        b--;
      }
      store<i32>(out + ((<usize>b) << 2), id);
    }
    const vals = outVal + ((<usize>(r * k)) << 2);
    for (let t = 0; t < k; t++) {
      store<f32>(vals + ((<usize>t) << 2), load<f32>(row + ((<usize>load<i32>(out + ((<usize>t) << 2))) << 2)));
    }
  }
}
