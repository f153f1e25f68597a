// A TensorFlow graph run in one call through tfjs-node's binding, for kernels whose ops are each too small
// to pay their own dispatch. tfjs-node runs an op eagerly for about 20-30 µs of fixed cost (TFE_Execute
// through N-API) whatever its size; meProp's unified backward is about ten such ops, most of them tiny. The
// binding can also load a SavedModel and run a subgraph of it in one TF_SessionRun (loadSavedModel /
// runSavedModel, what tf.node.loadSavedModel uses). So the graph is written here, in JavaScript (a GraphDef
// protobuf encoded by hand: placeholders of unknown shape, so one graph serves every shape), saved into a
// fresh temporary directory (mkdtemp), loaded once per process and deleted from disk.
//
// Session threads: by default a TensorFlow session runs its ops on the inter-op thread pool, and each run
// then costs about 100 µs of thread hand-offs (measured here for a graph of one Identity), as much as the
// ops it saves. TensorFlow runs a session's ops in the calling thread instead when the environment variable
// TF_NUM_INTEROP_THREADS is negative at the first session's creation (then about 30 µs per run). When the
// variable is unset, it is set to -1 around the first load and removed again; TensorFlow reads it once per
// process, so later sessions of the process (e.g. a user's tf.node.loadSavedModel) also run in their
// caller's thread, with their intra-op parallelism unchanged. A user who sets the variable keeps their
// value. Any failure (no fs, no binding support, a load error) leaves the caller on its op-by-op path.
//
// Node-only, with no static import of Node modules: this file is part of every bundle (kernels register
// for all backends), so `fs`, `os` and `path` come from process.getBuiltinModule at first use, and a
// bundle for the browser never reaches it (the `tensorflow` backend exists only in Node).
import type { DataType } from '@tensorflow/tfjs-core';
import type { NativeTensor, TfBinding } from '../../tfjs_internals';

// ---- Protobuf encoding (only what GraphDef / SavedModel need: varints and length-delimited fields) ----

/** Node names, op names and tags are ASCII here; anything else is a bug in the graph's definition. */
function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new Error(`native graph: non-ASCII name '${text}'`);
    out[i] = c;
  }
  return out;
}

class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  /** A varint field (int32, int64, bool, enum). Negative values take ten bytes, as protobuf encodes them. */
  int(field: number, value: number | boolean): this {
    this.varint(field << 3);
    this.varint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  /** A length-delimited field: bytes, a string (UTF-8) or a nested message. */
  bytesField(field: number, data: Uint8Array | ProtoWriter | string): this {
    const payload = typeof data === 'string' ? ascii(data) : data instanceof ProtoWriter ? data.finish() : data;
    this.varint((field << 3) | 2);
    this.varint(payload.length);
    for (const b of payload) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

// TensorFlow's DataType enum (types.proto).
const DT: Record<'float32' | 'int32', number> = { float32: 1, int32: 3 };

/** An attribute value of a graph node (AttrValue). */
export type GraphAttr =
  { type: 'float32' | 'int32' } | { bool: boolean } | { int: number } | { scalar: number; dtype: 'float32' | 'int32' };

function encodeAttr(a: GraphAttr): ProtoWriter {
  const w = new ProtoWriter();
  if ('type' in a) return w.int(6, DT[a.type]);
  if ('bool' in a) return w.int(5, a.bool);
  if ('int' in a) return w.int(3, a.int);
  // A scalar TensorProto: dtype, an empty shape, one value (int_val 7 or float_val 5, packed).
  const t = new ProtoWriter().int(1, DT[a.dtype]).bytesField(2, new ProtoWriter());
  if (a.dtype === 'int32') t.int(7, a.scalar);
  else {
    const f = new Uint8Array(new Float32Array([a.scalar]).buffer);
    t.bytesField(5, f);
  }
  return w.bytesField(8, t);
}

/** A GraphDef under construction: nodes by name, inputs as "node" or "node:output". */
export class GraphBuilder {
  private readonly nodes: ProtoWriter[] = [];
  private readonly names = new Set<string>();

  node(name: string, op: string, inputs: string[], attrs: Record<string, GraphAttr> = {}): string {
    if (this.names.has(name)) throw new Error(`GraphBuilder: duplicate node name '${name}'`);
    this.names.add(name);
    const n = new ProtoWriter().bytesField(1, name).bytesField(2, op);
    for (const i of inputs) n.bytesField(3, i);
    for (const [key, value] of Object.entries(attrs)) {
      n.bytesField(5, new ProtoWriter().bytesField(1, key).bytesField(2, encodeAttr(value)));
    }
    this.nodes.push(n);
    return name;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** A placeholder of unknown shape (TensorShapeProto.unknown_rank) and the given dtype. */
  placeholder(name: string, dtype: 'float32' | 'int32'): string {
    if (this.names.has(name)) return name;
    this.names.add(name);
    const shape = new ProtoWriter().bytesField(7, new ProtoWriter().int(3, true));
    const n = new ProtoWriter()
      .bytesField(1, name)
      .bytesField(2, 'Placeholder')
      .bytesField(5, new ProtoWriter().bytesField(1, 'dtype').bytesField(2, encodeAttr({ type: dtype })))
      .bytesField(5, new ProtoWriter().bytesField(1, 'shape').bytesField(2, shape));
    this.nodes.push(n);
    return name;
  }

  /** A scalar constant, made once per name. */
  constant(name: string, value: number, dtype: 'float32' | 'int32'): string {
    if (this.names.has(name)) return name;
    return this.node(name, 'Const', [], { dtype: { type: dtype }, value: { scalar: value, dtype } });
  }

  /** The SavedModel protobuf: one MetaGraphDef tagged "serve" holding this graph. */
  savedModel(): Uint8Array {
    const graph = new ProtoWriter();
    for (const n of this.nodes) graph.bytesField(1, n);
    graph.bytesField(4, new ProtoWriter().int(1, 1000)); // versions.producer (any recent GraphDef version)
    const meta = new ProtoWriter().bytesField(1, new ProtoWriter().bytesField(4, 'serve')).bytesField(2, graph);
    return new ProtoWriter().int(1, 1).bytesField(2, meta).finish();
  }
}

// ---- Loading and running ----

/** The binding's SavedModel entry points (tfjs-node 4.x; absent from its typings). */
interface SavedModelBinding {
  loadSavedModel(exportDir: string, tags: string): number;
  runSavedModel(id: number, inputIds: number[], inputOpNames: string, outputOpNames: string): NativeTensor[];
  deleteSavedModel(id: number): void;
}

function savedModelBinding(b: TfBinding): SavedModelBinding | null {
  const s = b as unknown as Partial<SavedModelBinding>;
  return typeof s.loadSavedModel === 'function' &&
    typeof s.runSavedModel === 'function' &&
    typeof s.deleteSavedModel === 'function'
    ? (s as SavedModelBinding)
    : null;
}

interface NodeModules {
  fs: {
    mkdtempSync(prefix: string): string;
    writeFileSync(file: string, data: Uint8Array): void;
    rmSync(p: string, opts: { recursive: boolean; force: boolean }): void;
  };
  os: { tmpdir(): string };
  path: { join(...parts: string[]): string };
  env: Record<string, string | undefined>;
}

function nodeModules(): NodeModules | null {
  const proc = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; env?: Record<string, string | undefined> } }
  ).process;
  if (proc === undefined || typeof proc.getBuiltinModule !== 'function' || proc.env === undefined) return null;
  const fs = proc.getBuiltinModule('fs') as NodeModules['fs'] | undefined;
  const os = proc.getBuiltinModule('os') as NodeModules['os'] | undefined;
  const path = proc.getBuiltinModule('path') as NodeModules['path'] | undefined;
  if (fs === undefined || os === undefined || path === undefined) return null;
  return { fs, os, path, env: proc.env };
}

/** A loaded graph: runs a subgraph (the fetched outputs and what they need) in one call. */
export class NativeGraph {
  constructor(
    private readonly sm: SavedModelBinding,
    private readonly id: number,
  ) {}

  /**
   * Feeds `inputs` (placeholder name → tensor handle) and returns the handles of `outputs` ("node" or
   * "node:i"), owned by the caller (delete them or hand them to tfjs).
   */
  run(inputs: [string, number][], outputs: string[]): NativeTensor[] {
    const names = inputs.map(([n]) => `${n}:0`).join(',');
    const fetches = outputs.map((o) => (o.includes(':') ? o : `${o}:0`)).join(',');
    return this.sm.runSavedModel(
      this.id,
      inputs.map(([, h]) => h),
      names,
      fetches,
    );
  }

  dispose(): void {
    this.sm.deleteSavedModel(this.id);
  }
}

/**
 * Writes `graph` as a SavedModel into a new temporary directory, loads it with the binding, removes the
 * directory and returns the loaded graph; null (and the reason in `onError`) when anything fails.
 */
export function loadNativeGraph(binding: TfBinding, graph: GraphBuilder, onError: (e: unknown) => void): NativeGraph | null {
  const sm = savedModelBinding(binding);
  const node = nodeModules();
  if (sm === null || node === null) {
    onError(new Error(sm === null ? 'the binding has no loadSavedModel/runSavedModel' : 'no Node fs (process.getBuiltinModule)'));
    return null;
  }
  let dir: string | null = null;
  const setEnv = node.env.TF_NUM_INTEROP_THREADS === undefined;
  try {
    dir = node.fs.mkdtempSync(node.path.join(node.os.tmpdir(), 'meprop-graph-'));
    node.fs.writeFileSync(node.path.join(dir, 'saved_model.pb'), graph.savedModel());
    if (setEnv) node.env.TF_NUM_INTEROP_THREADS = '-1';
    return new NativeGraph(sm, sm.loadSavedModel(dir, 'serve'));
  } catch (e) {
    onError(e);
    return null;
  } finally {
    if (setEnv) delete node.env.TF_NUM_INTEROP_THREADS;
    if (dir !== null) {
      try {
        node.fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // A leftover temporary directory is harmless; the graph is loaded (or not) either way.
      }
    }
  }
}

/** GatherV2 / MatMul / ... attribute sets used by the graphs, by TensorFlow's attr names. */
export const graphAttrs = {
  gather: (dtype: DataType): Record<string, GraphAttr> => ({
    Tparams: { type: dtype === 'int32' ? 'int32' : 'float32' },
    Tindices: { type: 'int32' },
    Taxis: { type: 'int32' },
    batch_dims: { int: 0 },
  }),
  matMul: (ta: boolean, tb: boolean): Record<string, GraphAttr> => ({
    T: { type: 'float32' },
    transpose_a: { bool: ta },
    transpose_b: { bool: tb },
  }),
  t: (dtype: 'float32' | 'int32'): Record<string, GraphAttr> => ({ T: { type: dtype } }),
};
