// meProp's MLP kernels on the `tensorflow` backend as one native op each (native/mlp_backward.cc,
// native/mlp_update.cc), in place of @meprop/core's and @meprop/layers' stock-op kernels of the same names:
//   MePropSelectColumns, MePropSelect       the selection (random mode stays on the stock ops: its indices
//                                           come from the host generator, not from dy)
//   MePropUnifiedBackward, MePropGatherMatMul  the unified backward: selection, dW (k slices or dense), dx
//   MePropPerExampleBackward                the per-example backward: selection, dW, dx (or the kept entries)
//   MePropSparseGradA, MePropSparseGradB    the per-example (and random) products from the kept entries
//   MePropReluGradFromOutput                a Dense layer's relu gradient (@meprop/layers)
//   MePropSparseLazyUpdateInPlace           the lazy optimizers' step from slices (@meprop/layers): the slots'
//                                           rows are gathered from and scattered back into their resource
//                                           variables in place; the rule runs in one op, in float64 like cpu
//   MePropLazyUpdate                        the lazy optimizers' step from a dense gradient (biases, exact
//                                           layers; @meprop/layers): one op instead of a dozen stock ones
// Kernel names and attributes are those of core's kernel_names.ts and layers' kernels; they are repeated
// here as strings because this package must not depend on @meprop/layers (tests check they still match).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { withNativeScope } from '@meprop/core';
import type { NativeScope, NativeTensor, NativeVariable } from '@meprop/core';

/** The tfjs kernels this file makes native, by name. */
export const mlpKernelNames = [
  'MePropSelectColumns',
  'MePropSelect',
  'MePropUnifiedBackward',
  'MePropPerExampleBackward',
  'MePropGatherMatMul',
  'MePropSparseGradA',
  'MePropSparseGradB',
  'MePropReluGradFromOutput',
  'MePropSparseLazyUpdateInPlace',
  'MePropLazyUpdate',
] as const;

interface TransposeAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

function transposes(s: NativeScope, a: TransposeAttrs): ReturnType<NativeScope['bool']>[] {
  return [s.bool('transpose_a', a.transposeA), s.bool('transpose_b', a.transposeB)];
}

function checkFloat2D(kernel: string, name: string, t: TensorInfo): void {
  if (t.dtype !== 'float32' || t.shape.length !== 2)
    throw new Error(`${kernel}: ${name} must be a 2-D float32 tensor, got ${t.dtype} [${t.shape.join(', ')}]`);
}

function checkK(kernel: string, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`${kernel}: k must be an integer in [1, ${n}] (the columns of dy), got ${k}`);
}

const selectColumns: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const { k } = attrs as unknown as { k: number };
  checkFloat2D('MePropSelectColumns', 'dy', dy);
  checkK('MePropSelectColumns', k, dy.shape[1]);
  return withNativeScope(backend, (s) => {
    const [idx, values] = s.op('MePropMlpSelectColumns', [s.int('k', k)], [s.input(dy)], 2);
    return [s.output(idx), s.output(values)];
  });
};

// Core's stock-op MePropSelect, kept for random mode (captured before the native kernel replaces it).
const stockSelect = tf.getKernel('MePropSelect', 'tensorflow');

const select: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const { k, mode } = attrs as unknown as { k: number; mode: string };
  if (mode === 'random') {
    if (stockSelect === undefined) throw new Error("MePropSelect: random mode needs @meprop/core's tensorflow kernel");
    return stockSelect.kernelFunc(args);
  }
  if (mode !== 'per-example' && mode !== 'unified')
    throw new Error(`MePropSelect: mode must be 'per-example', 'unified' or 'random', got '${mode}'`);
  checkFloat2D('MePropSelect', 'dy', dy);
  checkK('MePropSelect', k, dy.shape[1]);
  return withNativeScope(backend, (s) => {
    const attrList = [s.int('k', k), s.int('mode', mode === 'unified' ? 1 : 0)];
    const [idx, values] = s.op('MePropMlpSelect', attrList, [s.input(dy)], 2);
    return [s.output(idx), s.output(values)];
  });
};

const unifiedBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, a, b } = inputs as Record<string, TensorInfo>;
  // `threads` and `keepDw` are test hooks (not core's attributes). threads: 1 runs dW and dx one after the other,
  // 2 on two threads at once; absent, the native op chooses by size. keepDw: false allocates every dense dW
  // afresh (absent: the op reuses its last dense dW when nobody holds it any more; see native/mlp_backward.cc).
  const at = attrs as unknown as TransposeAttrs & {
    k: number;
    denseW: boolean;
    withDx: boolean;
    threads?: number;
    keepDw?: boolean;
  };
  checkFloat2D('MePropUnifiedBackward', 'dy', dy);
  checkK('MePropUnifiedBackward', at.k, dy.shape[1]);
  const threads = at.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0)
    throw new Error(`MePropUnifiedBackward: threads must be an integer >= 0 (0: by size), got ${threads}`);
  if (at.keepDw !== undefined && typeof at.keepDw !== 'boolean')
    throw new Error(`MePropUnifiedBackward: keepDw must be a boolean, got ${String(at.keepDw)}`);
  return withNativeScope(backend, (s) => {
    const attrList = [
      s.int('k', at.k),
      ...transposes(s, at),
      s.bool('dense_w', at.denseW),
      s.bool('with_dx', at.withDx),
      s.int('threads', threads),
      ...(at.keepDw === false ? [s.bool('keep_dw', false)] : []),
    ];
    const out = s.op('MePropMlpUnifiedBackward', attrList, [s.input(dy), s.input(a), s.input(b)], 3);
    return out.map((t) => s.output(t));
  });
};

const perExampleBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, a, b } = inputs as Record<string, TensorInfo>;
  // `threads` is a test hook, as for the unified backward: 1 runs everything on one thread; absent, by size.
  const at = attrs as unknown as TransposeAttrs & { k: number; withDx: boolean; threads?: number };
  checkFloat2D('MePropPerExampleBackward', 'dy', dy);
  checkK('MePropPerExampleBackward', at.k, dy.shape[1]);
  const threads = at.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0)
    throw new Error(`MePropPerExampleBackward: threads must be an integer >= 0 (0: by size), got ${threads}`);
  return withNativeScope(backend, (s) => {
    const attrList = [s.int('k', at.k), ...transposes(s, at), s.bool('with_dx', at.withDx), s.int('threads', threads)];
    const out = s.op('MePropMlpPerExampleBackward', attrList, [s.input(dy), s.input(a), s.input(b)], 3);
    return out.map((t) => s.output(t));
  });
};

const gatherMatMul: KernelFunc = ({ inputs, backend, attrs }) => {
  const { values, indices, b } = inputs as Record<string, TensorInfo>;
  const at = attrs as unknown as TransposeAttrs;
  return withNativeScope(backend, (s) =>
    s.output(s.op1('MePropMlpGatherMatMul', transposes(s, at), [s.input(values), s.input(indices), s.input(b)])),
  );
};

const sparseGradA: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, b } = inputs as Record<string, TensorInfo>;
  const at = attrs as unknown as TransposeAttrs;
  return withNativeScope(backend, (s) =>
    s.output(s.op1('MePropMlpSparseGradA', transposes(s, at), [s.input(indices), s.input(values), s.input(b)])),
  );
};

const sparseGradB: KernelFunc = ({ inputs, backend, attrs }) => {
  const { indices, values, a } = inputs as Record<string, TensorInfo>;
  const at = attrs as unknown as TransposeAttrs & { N: number };
  return withNativeScope(backend, (s) =>
    s.output(
      s.op1('MePropMlpSparseGradB', [...transposes(s, at), s.int('n', at.N)], [s.input(indices), s.input(values), s.input(a)]),
    ),
  );
};

const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, y } = inputs as Record<string, TensorInfo>;
  return withNativeScope(backend, (s) => s.output(s.op1('MePropMlpReluGrad', [], [s.input(dy), s.input(y)])));
};

/** The attributes of @meprop/layers' MePropLazyUpdate (the step from a dense gradient). */
interface LazyUpdateAttrs {
  rule: 'adam' | 'adagrad' | 'sgd';
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  correction1: number;
  correction2: number;
  rows: number;
  cols: number;
  lazy: boolean;
}

/** The attributes of @meprop/layers' MePropSparseLazyUpdateInPlace (layers/src/optimizers/sparse_update_kernel.ts). */
interface LazyUpdateInPlaceAttrs extends LazyUpdateAttrs {
  axis: 0 | 1;
  unique: boolean;
  slots: NativeVariable[];
}

const ruleCodes = { adam: 0, adagrad: 1, sgd: 2 } as const;
const slotCounts = { adam: 2, adagrad: 1, sgd: 0 } as const;

/** Six float64 hyper-parameters as the int32 bit pattern the op reads (nothing rounded to float32). */
function paramBits(a: LazyUpdateAttrs): Int32Array {
  const f = Float64Array.of(a.learningRate, a.beta1, a.beta2, a.epsilon, a.correction1, a.correction2);
  return new Int32Array(f.buffer);
}

const sparseLazyUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as LazyUpdateInPlaceAttrs;
  const { value, indices, rows } = inputs as Record<string, TensorInfo>;
  const rule = ruleCodes[a.rule];
  if (rule === undefined)
    throw new Error(`MePropSparseLazyUpdateInPlace: rule must be 'adam', 'adagrad' or 'sgd', got '${String(a.rule)}'`);
  if (a.slots.length !== slotCounts[a.rule])
    throw new Error(`MePropSparseLazyUpdateInPlace: rule '${a.rule}' takes ${slotCounts[a.rule]} slots, got ${a.slots.length}`);
  checkFloat2D('MePropSparseLazyUpdateInPlace', 'value', value);
  checkFloat2D('MePropSparseLazyUpdateInPlace', 'rows', rows);
  return withNativeScope(backend, (s) => {
    let idx = s.input(indices);
    let g = s.input(rows); // [n, L]
    if (!a.unique) {
      // Several contributions per index: sum them per index first (stock ops, as @meprop/layers does).
      const [uniq, pos] = s.op('Unique', [s.type('T', 'int32'), s.type('out_idx', 'int32')], [idx], 2);
      const count = s.op1('Size', [s.type('T', 'int32'), s.type('out_type', 'int32')], [uniq.id]);
      g = s.op1(
        'UnsortedSegmentSum',
        [s.type('T', 'float32'), s.type('Tindices', 'int32'), s.type('Tnumsegments', 'int32')],
        [g, pos.id, count.id],
      ).id;
      idx = uniq.id;
    }
    // The slots' rows ([C, R] for axis 1: stored transposed, see @meprop/layers).
    const old = a.slots.map((v) => v.gatherRows(s, idx).id);
    const attrList = [s.int('rule', rule), s.int('axis', a.axis), s.bool('lazy', a.lazy)];
    const ins = [s.input(value), idx, g, old[0] ?? g, old[1] ?? g, s.int32([12], paramBits(a))];
    const [w, s0, s1]: NativeTensor[] = s.op('MePropMlpLazyUpdate', attrList, ins, 3);
    [s0, s1].slice(0, a.slots.length).forEach((t, i) => a.slots[i].scatterRows(s, idx, t.id));
    return [s.output(w)];
  });
};

const denseLazyUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as LazyUpdateAttrs;
  const { value, grad } = inputs as Record<string, TensorInfo>;
  const slotsIn = [inputs.slot0, inputs.slot1].filter((t): t is TensorInfo => t !== undefined);
  const rule = ruleCodes[a.rule];
  if (rule === undefined) throw new Error(`MePropLazyUpdate: rule must be 'adam', 'adagrad' or 'sgd', got '${String(a.rule)}'`);
  if (slotsIn.length !== slotCounts[a.rule])
    throw new Error(`MePropLazyUpdate: rule '${a.rule}' takes ${slotCounts[a.rule]} slots, got ${slotsIn.length}`);
  for (const [name, t] of [['value', value], ['grad', grad], ...slotsIn.map((s, i) => [`slot${i}`, s] as const)] as const)
    if (t.dtype !== 'float32') throw new Error(`MePropLazyUpdate: ${name} must be float32, got ${t.dtype}`);
  return withNativeScope(backend, (s) => {
    const g = s.input(grad);
    const ins = [s.input(value), g, slotsIn[0] ? s.input(slotsIn[0]) : g, slotsIn[1] ? s.input(slotsIn[1]) : g];
    const attrList = [s.int('rule', rule), s.int('rows', a.rows), s.int('cols', a.cols), s.bool('lazy', a.lazy)];
    const out = s.op('MePropMlpDenseLazyUpdate', attrList, [...ins, s.int32([12], paramBits(a))], 3);
    return out.slice(0, 1 + slotsIn.length).map((t) => s.output(t));
  });
};

/** The MLP kernels for the `tensorflow` backend (installed by index.ts once the native ops load). */
export const nativeMlpKernelConfigs: KernelConfig[] = [
  { kernelName: 'MePropSelectColumns', kernelFunc: selectColumns },
  { kernelName: 'MePropSelect', kernelFunc: select },
  { kernelName: 'MePropUnifiedBackward', kernelFunc: unifiedBackward },
  { kernelName: 'MePropPerExampleBackward', kernelFunc: perExampleBackward },
  { kernelName: 'MePropGatherMatMul', kernelFunc: gatherMatMul },
  { kernelName: 'MePropSparseGradA', kernelFunc: sparseGradA },
  { kernelName: 'MePropSparseGradB', kernelFunc: sparseGradB },
  { kernelName: 'MePropReluGradFromOutput', kernelFunc: reluGrad },
  { kernelName: 'MePropSparseLazyUpdateInPlace', kernelFunc: sparseLazyUpdate },
  { kernelName: 'MePropLazyUpdate', kernelFunc: denseLazyUpdate },
].map((c) => ({ ...c, backendName: 'tensorflow' }));

/** The attrs the lazy update reads (kept in step with @meprop/layers; for tests). */
export type { LazyUpdateInPlaceAttrs };
