// Checks each tfjs internal listed in tfjs_internals.ts against the installed tfjs, so a tfjs release that changes
// one fails here, naming it. The tfjs range job (tools/test-tfjs-range.sh) runs this against the lowest and the
// highest tfjs 4.x of the peer range and sets MEPROP_EXPECT_TFJS, checked first so the job cannot test 4.22 twice.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, seededTensor } from '@meprop/test-utils';
import { withMeProp } from './index';
import {
  CpuBackendLike,
  FUSED_MAT_MUL_TAPE_NAME,
  registeredBackendNames,
  TFJS_CORE_INTERNALS,
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
