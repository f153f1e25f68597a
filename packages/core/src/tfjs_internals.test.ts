// Checks each tfjs internal listed in tfjs_internals.ts against the installed tfjs, so a tfjs release that changes
// one fails here, naming it. The tfjs range job (tools/test-tfjs-range.sh) runs this against the lowest and the
// highest tfjs 4.x of the peer range and sets MEPROP_EXPECT_TFJS, checked first so the job cannot test 4.22 twice.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, seededTensor } from '@meprop/test-utils';
import { NativeVariable, withMeProp, withNativeScope } from './index';
import { GraphBuilder, loadNativeGraph } from './kernels/tensorflow/native_graph';
import {
  asTfBackend,
  CpuBackendLike,
  FUSED_MAT_MUL_TAPE_NAME,
  registeredBackendNames,
  TFJS_CORE_INTERNALS,
  TFJS_NODE_INTERNALS,
  WasmBackendLike,
} from './tfjs_internals';

function internal(index: number): string {
  return `tfjs internal #${index} (${TFJS_CORE_INTERNALS[index]})`;
}

describe('the tfjs under test', () => {
  it('is the version the tfjs range job asked for', () => {
    const expected = process.env.MEPROP_EXPECT_TFJS;
    if (expected !== undefined) {
      expect({ core: tf.version_core, layers: tf.version_layers }).toEqual({ core: expected, layers: expected });
    } else {
      expect(tf.version_core).toMatch(/^4\./);
    }
  });
});

describeEachBackend('tfjs internals @meprop/core relies on', (backend) => {
  it(internal(0), () => {
    const seen: string[] = [];
    const original = tf.getGradient(FUSED_MAT_MUL_TAPE_NAME);
    tf.registerGradient({
      kernelName: FUSED_MAT_MUL_TAPE_NAME,
      gradFunc: (dy, saved) => {
        const [a3, b3, y] = saved;
        seen.push(`a ${a3.shape} b ${b3.shape} y ${y.shape} dy ${(dy as tf.Tensor).shape}`);
        return { 0: () => tf.zerosLike(a3), 1: () => tf.onesLike(b3) };
      },
    });
    try {
      tf.tidy(() => {
        const a = seededTensor([3, 4], 1);
        const b = seededTensor([4, 5], 2);
        const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D })),
        )([a, b]);
        expect(seen).toEqual(['a 1,3,4 b 1,4,5 y 1,3,5 dy 3,5']);
        expectClose(ga, tf.zerosLike(a), 0);
        expectClose(gb, tf.onesLike(b), 0);
      });
    } finally {
      tf.unregisterGradient(FUSED_MAT_MUL_TAPE_NAME);
      if (original !== undefined) tf.registerGradient(original);
    }
  });

  it(internal(1), () => {
    const config = tf.getKernel('_FusedMatMul', backend);
    expect(config).toBeDefined();
    const seen: tf.NamedAttrMap[] = [];
    tf.unregisterKernel('_FusedMatMul', backend);
    tf.registerKernel({
      ...(config as tf.KernelConfig),
      kernelFunc: (args) => {
        seen.push(args.attrs as tf.NamedAttrMap);
        return (config as tf.KernelConfig).kernelFunc(args);
      },
    });
    try {
      tf.tidy(() => {
        tf.fused.matMul({ a: tf.ones([2, 3]), b: tf.ones([2, 3]), transposeB: true, activation: 'relu' });
      });
    } finally {
      tf.unregisterKernel('_FusedMatMul', backend);
      tf.registerKernel(config as tf.KernelConfig);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ transposeA: false, transposeB: true, activation: 'relu' });
  });

  it(internal(2), () => {
    expect(registeredBackendNames()).toEqual(expect.arrayContaining(['cpu', backend]));
  });

  it(`${internal(3)} and ${internal(4)}`, () => {
    const values = new Float32Array([1, 2, 3, 4, 5, 6]);
    const x = tf.tensor2d(values, [2, 3]);
    const active = tf.backend();
    if (backend === 'cpu') {
      const cpu = active as unknown as CpuBackendLike;
      expect(typeof cpu.makeTensorInfo).toBe('function');
      expect(cpu.data.get(x.dataId).values).toEqual(values);
      const info = cpu.makeTensorInfo([3], 'float32', new Float32Array([7, 8, 9]));
      const t = tf.engine().makeTensorFromTensorInfo(info);
      expect(Array.from(t.dataSync())).toEqual([7, 8, 9]);
      t.dispose();
    } else if (backend === 'wasm') {
      const wasm = active as unknown as WasmBackendLike;
      expect(typeof wasm.makeOutput).toBe('function');
      expect(wasm.typedArrayFromHeap(x)).toEqual(values);
      const info = wasm.makeOutput([3], 'float32');
      (wasm.typedArrayFromHeap(info) as Float32Array).set([7, 8, 9]);
      const t = tf.engine().makeTensorFromTensorInfo(info);
      expect(Array.from(t.dataSync())).toEqual([7, 8, 9]);
      t.dispose();
    }
    x.dispose();
  });

  it(internal(5), () => {
    // Square operands: the transposes cannot be told from the shapes, so meProp needs the recorded attrs to
    // differentiate tf.fused.matMul(a, b, transposeB) right; k = width keeps the gradient exact.
    tf.tidy(() => {
      const a = seededTensor([4, 4], 3);
      const b = seededTensor([4, 4], 4);
      const f = (x: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, transposeB: true })));
      const plain = tf.grads(f)([a, b]);
      const meProp = withMeProp({ k: 4 }, () => tf.grads(f)([a, b]));
      expectClose(meProp[0], plain[0], 1e-5);
      expectClose(meProp[1], plain[1], 1e-5);
    });
  });
});

describeEachBackend('tfjs-node internals the tensorflow kernels rely on', (backend) => {
  if (backend !== 'tensorflow') {
    it('apply to the tensorflow backend only', () => expect(backend).not.toBe('tensorflow'));
    return;
  }
  const node = (i: number) => `tfjs-node internal #${i} (${TFJS_NODE_INTERNALS[i]})`;

  it(node(0), () => {
    const b = asTfBackend(tf.backend()).binding;
    for (const f of ['executeOp', 'createTensor', 'deleteTensor', 'tensorDataSync'] as const)
      expect([f, typeof b[f]]).toEqual([f, 'function']);
    const id = b.createTensor([2], b.TF_FLOAT, Float32Array.of(-1, 2));
    const [out] = b.executeOp('Abs', [{ name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }], [id], 1);
    expect([out.shape, out.dtype]).toEqual([[2], b.TF_FLOAT]);
    expect(Array.from(b.tensorDataSync(out.id))).toEqual([1, 2]);
    b.deleteTensor(out.id);
    b.deleteTensor(id);
  });

  it(node(1), () => {
    const b = asTfBackend(tf.backend()).binding;
    const names = [
      'TF_FLOAT',
      'TF_INT32',
      'TF_INT64',
      'TF_BOOL',
      'TF_ATTR_INT',
      'TF_ATTR_BOOL',
      'TF_ATTR_TYPE',
      'TF_ATTR_STRING',
      'TF_ATTR_SHAPE',
    ] as const;
    for (const n of names) expect([n, typeof b[n]]).toEqual([n, 'number']);
  });

  it(node(2), () => {
    const be = asTfBackend(tf.backend());
    const x = tf.tensor1d([3, -4]);
    const before = tf.memory().numTensors;
    const info = withNativeScope(tf.backend(), (s) => s.output(s.op1('Neg', [s.type('T', 'float32')], [s.input(x)])));
    // tfjs-node returns a tracked tfjs Tensor; the engine takes a kernel output that is a Tensor as is.
    expect(info).toBeInstanceOf(tf.Tensor);
    const y = info as tf.Tensor;
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual([-3, 4]);
    expect(typeof be.getInputTensorIds([x])[0]).toBe('number');
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before - 1);
  });

  it(node(3), () => {
    withNativeScope(tf.backend(), (s) => {
      const read = (t: { id: number }) => Array.from(s.binding.tensorDataSync(t.id));
      const x = s.op1(
        'Identity',
        [s.type('T', 'float32')],
        [s.binding.createTensor([2, 3], s.binding.TF_FLOAT, Float32Array.of(1, -5, 2, 0, 3, -1))],
      );
      const [, idx] = s.topK(s.magnitude(x.id).id, 1, 'int32');
      expect(read(idx)).toEqual([1, 1]);
      expect(read(s.gather(x.id, s.constInt32([1], [2]), 1))).toEqual([2, -1]);
      expect(read(s.matMul(x.id, x.id, false, true))).toEqual([30, -17, -17, 10]);
      expect(read(s.denseFromColumns(x.id, s.constInt32([3], [0, 2, 4]), 2, 5, 3))).toEqual([1, 0, -5, 0, 2, 0, 0, 3, 0, -1]);
      expect(
        read(s.scatterNd(s.constInt32([1, 1], [1]), s.reshape(s.gather(x.id, s.constInt32([1], [0]), 0).id, [1, 3]).id, [2, 3])),
      ).toEqual([0, 0, 0, 1, -5, 2]);
      const v = new NativeVariable(tf.backend(), tf.tensor2d([1, 2, 3, 4], [2, 2]));
      v.scatterRows(s, s.constInt32([1], [1]), s.binding.createTensor([1, 2], s.binding.TF_FLOAT, Float32Array.of(9, 8)));
      expect(read(v.gatherRows(s, s.constInt32([1], [1])))).toEqual([9, 8]);
      expect(read(v.read(s))).toEqual([1, 2, 9, 8]);
      v.dispose();
      expect(v.isDisposed).toBe(true);
      expect(() => v.id).toThrow(/after dispose/);
    });
  });

  it(node(4), () => {
    const b = asTfBackend(tf.backend()).binding;
    const g = new GraphBuilder();
    g.node('y', 'Neg', [g.placeholder('x', 'float32')], { T: { type: 'float32' } });
    const errors: unknown[] = [];
    const graph = loadNativeGraph(b, g, (e) => errors.push(e));
    expect(errors).toEqual([]);
    const x = b.createTensor([2], b.TF_FLOAT, Float32Array.of(3, -4));
    const [y] = graph!.run([['x', x]], ['y']);
    expect([y.shape, y.dtype, Array.from(b.tensorDataSync(y.id))]).toEqual([[2], b.TF_FLOAT, [-3, 4]]);
    b.deleteTensor(y.id);
    b.deleteTensor(x);
    graph!.dispose();
  });
});
