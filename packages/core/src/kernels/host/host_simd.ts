// The per-position conv backward loops of sparse_conv_grad.ts as WebAssembly SIMD (source: ../../../wasm/
// host_simd.as.ts, AssemblyScript; bytes: host_simd_bytes.ts). They give the same bits as the
// JavaScript loops (float64 sums in the same order, two lanes at a time), so which one runs never changes a
// result: the module is used wherever the runtime validates it (WebAssembly SIMD: Node ≥ 16.4, Chrome ≥ 91,
// Firefox ≥ 89, Safari ≥ 16.4) and the JavaScript loops run elsewhere. The module has its own memory: each call
// copies its inputs in and its output out (a few MB, about 1 ms at the issue-13 layer, against the loops' tens).
import type { backend_util } from '@tensorflow/tfjs-core';
import type { EntryArrays, FilterEntries, SparseDyPositions } from './sparse_conv_grad';
import { HOST_SIMD_WASM } from './host_simd_bytes';

type Info = backend_util.Conv2DInfo;

// The parts of the WebAssembly JS API used here, typed locally: the package compiles without the DOM library.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmInstance {
  readonly exports: unknown;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: WasmInstance }>;
}
const runtime = globalThis as { WebAssembly?: WasmApi; atob?: (data: string) => string };

interface SimdExports {
  memory: WasmMemory;
  gradInput(...args: number[]): void;
  gradFilter(...args: number[]): void;
  selectSmall(...args: number[]): void;
}

const PAGE = 65536;
const align16 = (n: number): number => (n + 15) & ~15;

/** Regions of the module's memory for one call: sizes reserved first, then the memory grown once, then views. */
class Regions {
  private end = 0;
  private next = 0;
  private buffer: ArrayBuffer | null = null;
  constructor(private readonly memory: WasmMemory) {}
  reserve(bytes: number): void {
    this.end += align16(bytes);
  }
  /** Grows the memory to hold every reserved region; views taken after this stay valid for the call. */
  commit(): void {
    const have = this.memory.buffer.byteLength;
    if (this.end > have) this.memory.grow(Math.ceil((this.end - have) / PAGE));
    this.buffer = this.memory.buffer;
  }
  private take(bytes: number): number {
    const at = this.next;
    this.next += align16(bytes);
    if (this.buffer === null || this.next > this.end) throw new Error('sparse conv SIMD: region taken beyond what was reserved');
    return at;
  }
  f32(n: number): { at: number; view: Float32Array } {
    const at = this.take(n * 4);
    return { at, view: new Float32Array(this.buffer as ArrayBuffer, at, n) };
  }
  i32(n: number): { at: number; view: Int32Array } {
    const at = this.take(n * 4);
    return { at, view: new Int32Array(this.buffer as ArrayBuffer, at, n) };
  }
  f64(n: number): { at: number; view: Float64Array } {
    const at = this.take(n * 8);
    return { at, view: new Float64Array(this.buffer as ArrayBuffer, at, n) };
  }
  u8(n: number): { at: number; view: Uint8Array } {
    const at = this.take(n);
    return { at, view: new Uint8Array(this.buffer as ArrayBuffer, at, n) };
  }
}

function copyIn(dst: Float32Array | Int32Array, src: ArrayLike<number>): void {
  if (ArrayBuffer.isView(src)) (dst as Float32Array).set(src as unknown as Float32Array);
  else for (let i = 0; i < dst.length; i++) dst[i] = src[i];
}

/** The SIMD loops over the module's memory. */
export class HostSimd {
  constructor(private readonly ex: SimdExports) {}

  /** As sparseConvGradInputJs: dx += the kept entries times the filter; wT is the filter as [CO, FH, FW, CI]. */
  gradInput(info: Info, s: SparseDyPositions, wT: Float32Array, dx: Float32Array): void {
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
    const { filterHeight: FH, filterWidth: FW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const n = B * OH * OW * s.k;
    const patchSize = FH * FW * CI;
    const r = new Regions(this.ex.memory);
    for (const bytes of [n * 4, n * 4, wT.length * 4, dx.length * 4, patchSize * 8, s.k * 8, s.k * 4]) r.reserve(bytes);
    r.commit();
    const idx = r.i32(n);
    const val = r.f32(n);
    const w = r.f32(wT.length);
    const d = r.f32(dx.length);
    const patch = r.f64(patchSize);
    const vs = r.f64(s.k);
    const offs = r.i32(s.k);
    copyIn(idx.view, s.idx.subarray(0, n));
    copyIn(val.view, s.val.subarray(0, n));
    w.view.set(wT);
    d.view.set(dx);
    this.ex.gradInput(
      B,
      H,
      W,
      CI,
      OH,
      OW,
      FH,
      FW,
      sh,
      sw,
      dh,
      dw,
      info.padInfo.top,
      info.padInfo.left,
      s.k,
      idx.at,
      val.at,
      w.at,
      d.at,
      patch.at,
      vs.at,
      offs.at,
    );
    dx.set(d.view);
  }

  /** As topKIndicesSmall on every row of src [rows, cols] (float32 values), then the kept values: [rows, k]. */
  selectSmall(src: Float32Array, rows: number, cols: number, k: number, outIdx: Int32Array, outVal: Float32Array): void {
    const n = rows * cols;
    const r = new Regions(this.ex.memory);
    for (const bytes of [n * 4, rows * k * 4, rows * k * 4, k * 4, k * 8]) r.reserve(bytes);
    r.commit();
    const x = r.f32(n);
    const idx = r.i32(rows * k);
    const val = r.f32(rows * k);
    const bufIdx = r.i32(k);
    const bufMag = r.f64(k);
    x.view.set(src.subarray(0, n));
    this.ex.selectSmall(x.at, rows, cols, k, idx.at, val.at, bufIdx.at, bufMag.at);
    outIdx.set(idx.view);
    outVal.set(val.view);
  }

  /**
   * As sparseConvGradFilterJs: dW from x and the kept entries; `prepare` builds the regrouped entries
   * (filterEntries) into the arrays it is given, here views of the module's memory.
   */
  gradFilter(
    info: Info,
    k: number,
    x: ArrayLike<number>,
    dW: Float32Array,
    prepare: (arrays: EntryArrays) => FilterEntries,
  ): void {
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
    const { filterHeight: FH, filterWidth: FW, dilationHeight: dh, dilationWidth: dw } = info;
    const P = B * OH * OW;
    const FHW = FH * FW;
    const r = new Regions(this.ex.memory);
    // filterEntries' arrays, in the order it asks for them, then x, dW and the accumulator.
    for (const bytes of [(CO + 1) * 4, P * k * 4, P * k * 8, P * 4, P, P * 4, P * 4, FHW * 4]) r.reserve(bytes);
    const xLength = B * H * W * CI;
    for (const bytes of [xLength * 4, dW.length * 4, FHW * CI * 8]) r.reserve(bytes);
    r.commit();
    const e = prepare({ i32: (n) => r.i32(n).view, f64: (n) => r.f64(n).view, u8: (n) => r.u8(n).view });
    const xs = r.f32(xLength);
    const out = r.f32(dW.length);
    const acc = r.f64(FHW * CI);
    copyIn(xs.view, ArrayBuffer.isView(x) ? (x as Float32Array).subarray(0, xLength) : x);
    this.ex.gradFilter(
      H,
      W,
      CI,
      CO,
      FH,
      FW,
      dh,
      dw,
      e.entPos.byteOffset,
      e.entVal.byteOffset,
      e.start.byteOffset,
      e.corner.byteOffset,
      e.inside.byteOffset,
      e.h0s.byteOffset,
      e.w0s.byteOffset,
      e.tapX.byteOffset,
      xs.at,
      out.at,
      acc.at,
    );
    dW.set(out.view);
  }
}

let enabled = true;
let instance: HostSimd | null | undefined;

function decode(base64: string, atob: (data: string) => string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function load(): HostSimd | null {
  const wasm = runtime.WebAssembly;
  if (typeof wasm !== 'object' || typeof runtime.atob !== 'function') return null;
  const bytes = decode(HOST_SIMD_WASM, runtime.atob);
  if (!wasm.validate(bytes)) return null; // no SIMD in this runtime
  try {
    return new HostSimd(new wasm.Instance(new wasm.Module(bytes), {}).exports as SimdExports);
  } catch {
    // A runtime that refuses synchronous compilation here (e.g. a page's main thread with a size limit):
    // compile asynchronously and use the JavaScript loops (the same bits) until it is ready.
    wasm.instantiate(bytes, {}).then(
      (r) => {
        if (instance === null) instance = new HostSimd(r.instance.exports as SimdExports);
      },
      () => undefined,
    );
    return null;
  }
}

/** The SIMD loops, or null where the runtime lacks WebAssembly SIMD (or they are switched off). */
export function hostSimd(): HostSimd | null {
  if (!enabled) return null;
  if (instance === undefined) instance = load();
  return instance;
}

/** Switches the SIMD loops off (false) or back on: tests and benchmarks compare them with the JavaScript loops. */
export function setHostSimd(on: boolean): void {
  enabled = on;
}
