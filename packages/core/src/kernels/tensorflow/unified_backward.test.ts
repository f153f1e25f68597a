import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose } from '@meprop/test-utils';
import { MePropGatherMatMul, MePropUnifiedBackward, MePropUnifiedBackwardAttrs } from '../../kernel_names';
import { asTfBackend, TfBinding } from '../../tfjs_internals';
import { operands, referenceGrads, referenceMask } from '../../test-helpers/reference';
import { GraphBuilder, loadNativeGraph } from './native_graph';
import { setUnifiedGraphEnabled, unifiedGraphError } from './unified_graph';

const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** The kernel's outputs, as arrays, through the graph (on) or op by op (off). */
function runBackward(
  dy: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  attrs: MePropUnifiedBackwardAttrs,
  graph: boolean,
): { indices: number[]; dW: tf.Tensor; third: tf.Tensor } {
  setUnifiedGraphEnabled(graph);
  try {
    const [indices, dW, third] = tf.engine().runKernel(MePropUnifiedBackward, { dy, a, b }, attrs) as tf.Tensor[];
    const idx = Array.from(indices.dataSync());
    indices.dispose();
    return { indices: idx, dW, third };
  } finally {
    setUnifiedGraphEnabled(true);
  }
}

/** The k columns the brute-force reference keeps (ascending). */
function referenceColumns(dy: tf.Tensor2D, k: number): number[] {
  const [M, N] = dy.shape;
  const mask = referenceMask(dy.dataSync() as Float32Array, M, N, k, 'unified');
  return Array.from({ length: N }, (_, j) => j).filter((j) => mask[j] === 1);
}

/** The reference dW's kept slices as rows [k, K] (columns of dW, or rows of a transposed b). */
function referenceRows(db: tf.Tensor, cols: number[], tB: boolean): tf.Tensor {
  return tB ? tf.gather(db, cols, 0) : tf.transpose(tf.gather(db, cols, 1));
}

describeEachBackend('unified backward in one kernel (tensorflow)', (backend) => {
  if (backend !== 'tensorflow') {
    it('is registered for the tensorflow backend only', () => {
      expect(tf.getKernel(MePropUnifiedBackward, backend)).toBeUndefined();
    });
    return;
  }

  describe.each([
    [7, 13, 29, 5],
    [33, 70, 130, 17],
  ])('M=%i K=%i N=%i k=%i', (M, K, N, k) => {
    it.each(TRANSPOSES)(
      'graph and op-by-op paths give the brute-force reference, for dense dW, slices, dx and the kept columns (transposeA=%p, transposeB=%p)',
      (tA, tB) => {
        tf.tidy(() => {
          const { a, b, dy } = operands(M, K, N, tA, tB, 11 + M);
          const [ra, rb] = referenceGrads(a, b, dy, k, 'unified', tA, tB);
          const cols = referenceColumns(dy, k);
          const rows = referenceRows(rb, cols, tB);
          for (const graph of [true, false]) {
            for (const denseW of [true, false]) {
              for (const withDx of [true, false]) {
                const out = runBackward(dy, a, b, { k, transposeA: tA, transposeB: tB, denseW, withDx }, graph);
                expect([graph, denseW, withDx, out.indices]).toEqual([graph, denseW, withDx, cols]);
                expectClose(out.dW, denseW ? rb : rows, 1e-5);
                if (withDx) expectClose(out.third, ra, 1e-5);
                else expectClose(out.third, tf.gather(dy, cols, 1), 0);
                // dx from the kept columns afterwards (the engine's second call), both paths.
                if (!withDx) {
                  setUnifiedGraphEnabled(graph);
                  const dx = tf
                    .engine()
                    .runKernel(
                      MePropGatherMatMul,
                      { values: out.third, indices: tf.tensor1d(cols, 'int32'), b },
                      { transposeA: tA, transposeB: tB },
                    ) as tf.Tensor;
                  setUnifiedGraphEnabled(true);
                  expectClose(dx, ra, 1e-5);
                }
              }
            }
          }
        });
        expect(unifiedGraphError()).toBeNull();
      },
    );
  });

  it('ties keep the lower column index; a NaN column is kept and its NaN stays in its own column', () => {
    tf.tidy(() => {
      const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = tf.ones([3, 6]) as tf.Tensor2D;
      for (const graph of [true, false]) {
        // All column scores equal: columns 0 and 1.
        const even = runBackward(
          tf.ones([2, 6]) as tf.Tensor2D,
          a,
          b,
          { k: 2, transposeA: false, transposeB: false, denseW: true, withDx: true },
          graph,
        );
        expect(even.indices).toEqual([0, 1]);
        // Column 4 holds a NaN and the smallest other entries: kept first; only column 4 of dW is NaN.
        const dy = tf.tensor2d([9, 1, 8, 7, NaN, 2, 9, 1, 8, 7, 0, 2], [2, 6]);
        const out = runBackward(dy, a, b, { k: 2, transposeA: false, transposeB: false, denseW: true, withDx: false }, graph);
        expect(out.indices).toEqual([0, 4]);
        const dW = out.dW.arraySync() as number[][];
        for (const row of dW) {
          expect(Number.isNaN(row[4])).toBe(true);
          expect(row.filter((_, j) => j !== 4).every((v) => Number.isFinite(v))).toBe(true);
          expect([row[1], row[2], row[3], row[5]]).toEqual([0, 0, 0, 0]);
        }
      }
    });
  });

  it('leaves no native handle behind: every output of a graph run becomes a tfjs tensor or is deleted', () => {
    // The binding's methods are read-only: watch them through a copy put in the backend's place.
    const be = tf.backend() as unknown as { binding: TfBinding };
    const real = be.binding as unknown as Record<string, unknown>;
    const made: number[] = [];
    const deleted = new Set<number>();
    const watched: Record<string, unknown> = {};
    for (const name of Object.getOwnPropertyNames(real)) {
      const v = real[name];
      watched[name] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
    }
    const run = real.runSavedModel as (...a: unknown[]) => Array<{ id: number }>;
    const del = real.deleteTensor as (id: number) => void;
    watched.runSavedModel = (...args: unknown[]) => {
      const out = run.apply(real, args);
      made.push(...out.map((o) => o.id));
      return out;
    };
    watched.deleteTensor = (id: number) => {
      deleted.add(id);
      del.call(real, id);
    };
    be.binding = watched as unknown as TfBinding;
    try {
      const { a, b, dy } = operands(8, 12, 20, false, false, 5);
      const before = tf.memory().numTensors;
      const outs = tf.engine().runKernel(
        MePropUnifiedBackward,
        { dy, a, b },
        {
          k: 4,
          transposeA: false,
          transposeB: false,
          denseW: true,
          withDx: false,
        },
      ) as tf.Tensor[];
      const dx = tf.engine().runKernel(
        MePropGatherMatMul,
        { values: outs[2], indices: outs[0], b },
        {
          transposeA: false,
          transposeB: false,
        },
      ) as tf.Tensor;
      expect(tf.memory().numTensors).toBe(before + 4);
      tf.dispose([...outs, dx]);
      expect(tf.memory().numTensors).toBe(before);
      expect(made.length).toBe(4);
      expect(made.filter((id) => !deleted.has(id))).toEqual([]);
      tf.dispose([a, b, dy]);
    } finally {
      be.binding = real as unknown as TfBinding;
    }
  });

  describe('native graphs (native_graph.ts)', () => {
    const binding = () => asTfBackend(tf.backend()).binding;

    /** y = x * 0.5 + c (float and int constants encoded by hand), loaded from a temporary SavedModel. */
    function smallGraph(): GraphBuilder {
      const g = new GraphBuilder();
      const x = g.placeholder('x', 'float32');
      const half = g.constant('half', 0.5, 'float32');
      g.node('y', 'Mul', [x, half], { T: { type: 'float32' } });
      const n = g.placeholder('n', 'int32');
      g.node('m', 'AddV2', [n, g.constant('minus3', -3, 'int32')], { T: { type: 'int32' } });
      return g;
    }

    it('encodes a GraphDef that TensorFlow loads and runs (float and negative int constants)', () => {
      const errors: unknown[] = [];
      const graph = loadNativeGraph(binding(), smallGraph(), (e) => errors.push(e));
      expect(errors).toEqual([]);
      expect(graph).not.toBeNull();
      const b = binding();
      const x = b.createTensor([3], b.TF_FLOAT, Float32Array.of(2, -4, 1));
      const n = b.createTensor([], b.TF_INT32, Int32Array.of(10));
      const [y, m] = graph!.run(
        [
          ['x', x],
          ['n', n],
        ],
        ['y', 'm'],
      );
      expect(Array.from(b.tensorDataSync(y.id))).toEqual([1, -2, 0.5]);
      expect(Array.from(b.tensorDataSync(m.id))).toEqual([7]);
      for (const id of [x, n, y.id, m.id]) b.deleteTensor(id);
      graph!.dispose();
    });

    it('rejects a duplicate node name', () => {
      const g = new GraphBuilder();
      g.placeholder('x', 'float32');
      g.node('y', 'Identity', ['x'], { T: { type: 'float32' } });
      expect(() => g.node('y', 'Identity', ['x'], { T: { type: 'float32' } })).toThrow(/duplicate node name 'y'/);
    });

    it("sets TF_NUM_INTEROP_THREADS only while loading, and keeps a user's value", () => {
      const env = process.env;
      const saved = env.TF_NUM_INTEROP_THREADS;
      try {
        delete env.TF_NUM_INTEROP_THREADS;
        loadNativeGraph(binding(), smallGraph(), () => undefined)?.dispose();
        expect(env.TF_NUM_INTEROP_THREADS).toBeUndefined();
        env.TF_NUM_INTEROP_THREADS = '2';
        loadNativeGraph(binding(), smallGraph(), () => undefined)?.dispose();
        expect(env.TF_NUM_INTEROP_THREADS).toBe('2');
      } finally {
        if (saved === undefined) delete env.TF_NUM_INTEROP_THREADS;
        else env.TF_NUM_INTEROP_THREADS = saved;
      }
    });

    it('returns null with the reason when the binding cannot load SavedModels (the kernels then go op by op)', () => {
      const errors: unknown[] = [];
      const noSavedModels = { executeOp: binding().executeOp } as unknown as TfBinding;
      expect(loadNativeGraph(noSavedModels, smallGraph(), (e) => errors.push(e))).toBeNull();
      expect(String(errors[0])).toMatch(/no loadSavedModel/);
      // A load that throws (here: a graph TensorFlow rejects) gives null too.
      const bad = new GraphBuilder();
      bad.node('y', 'NoSuchOp', []);
      const errs2: unknown[] = [];
      expect(loadNativeGraph(binding(), bad, (e) => errs2.push(e))).toBeNull();
      expect(errs2.length).toBe(1);
    });
  });
});
