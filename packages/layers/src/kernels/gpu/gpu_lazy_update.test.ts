// What can be checked of the lazy optimizers' GPU kernels without a GPU (jest runs in Node): they are
// registered for webgl and webgpu, every program lays its output out as the kernels expect, and the update
// rule's expression is the cpu loops' arithmetic. Their numbers are checked against the cpu loops in headless
// Chromium: `node tools/browser-bench/run.mjs optimizers` and packages/browser-tests.
import * as tf from '@tensorflow/tfjs';
import '../../index';
import { MePropLazyUpdate } from '../kernel_names';
import { MePropSparseLazyUpdate } from '../../optimizers/sparse_update_kernel';
import { LazyUpdatePrograms, ruleExpression, UNIFORM_NAMES } from './lazy_update_programs';
import { webglLazyUpdatePrograms } from './webgl_lazy_update';
import { webgpuLazyUpdatePrograms } from './webgpu_lazy_update';

const backends: Array<[string, LazyUpdatePrograms]> = [
  ['webgl', webglLazyUpdatePrograms],
  ['webgpu', webgpuLazyUpdatePrograms],
];
const shape = (p: object) => (p as { outputShape: number[] }).outputShape;
const inputs = (p: object) => (p as { variableNames: string[] }).variableNames;

describe.each(backends)('lazy update kernels for %s', (backend, programs) => {
  it('are registered under the layers kernel names', () => {
    expect(tf.getKernel(MePropLazyUpdate, backend)).toBeDefined();
    expect(tf.getKernel(MePropSparseLazyUpdate, backend)).toBeDefined();
  });

  it('lay out every pass as the kernels read it', () => {
    expect(shape(programs.sliceSlots(11, 4, 7, true))).toEqual([1, 11]);
    expect(shape(programs.mergeDuplicates(4, 7))).toEqual([4, 7]);
    expect(shape(programs.touchedColumns(5, 9))).toEqual([1, 9]);
    expect(shape(programs.update({ rule: 'adam', output: 'value', R: 5, C: 9, lazy: true }))).toEqual([5, 9]);
    for (const axis of [0, 1] as const) {
      const L = axis === 1 ? 5 : 9;
      expect(
        shape(programs.sliceUpdate({ rule: 'adam', output: 'slot1', R: 5, C: 9, axis, n: 3, slotsTransposed: axis === 1 })),
      ).toEqual([3, L]);
    }
    expect(shape(programs.scatterSlices(9, 5, false, 3))).toEqual([9, 5]);
  });

  it('give the value pass the slots its rule reads, and the slot passes none', () => {
    const pass = (rule: 'adam' | 'adagrad' | 'sgd', output: 'value' | 'slot0') =>
      inputs(programs.update({ rule, output, R: 4, C: 6, lazy: false }));
    expect(pass('adam', 'value')).toEqual(['lzOld', 'lzG', 'lzM', 'lzV']);
    expect(pass('adagrad', 'value')).toEqual(['lzOld', 'lzG', 'lzAcc']);
    expect(pass('sgd', 'value')).toEqual(['lzOld', 'lzG']);
    expect(pass('adam', 'slot0')).toEqual(['lzOld', 'lzG']);
    expect(inputs(programs.update({ rule: 'adam', output: 'slot0', R: 4, C: 6, lazy: true }))).toEqual([
      'lzOld',
      'lzSlot',
      'lzG',
    ]);
  });
});

describe('webgpu lazy update programs', () => {
  it('put every shape constant baked into the source into the pipeline cache key', () => {
    // tfjs-backend-webgpu keys compiled pipelines on shaderKey plus ranks and dtypes only.
    const key = (p: object) => (p as { shaderKey: string }).shaderKey;
    const p = webgpuLazyUpdatePrograms;
    expect(key(p.sliceSlots(11, 4, 7, true))).not.toEqual(key(p.sliceSlots(11, 4, 8, true)));
    expect(key(p.scatterSlices(9, 5, false, 3))).not.toEqual(key(p.scatterSlices(9, 5, true, 3)));
    const slice = { rule: 'adam', output: 'value', R: 5, C: 9, axis: 1, n: 3, slotsTransposed: true } as const;
    expect(key(p.sliceUpdate(slice))).not.toEqual(key(p.sliceUpdate({ ...slice, axis: 0, slotsTransposed: false })));
    expect(key(p.update({ rule: 'adam', output: 'value', R: 5, C: 9, lazy: true }))).not.toEqual(
      key(p.update({ rule: 'adam', output: 'value', R: 5, C: 9, lazy: false })),
    );
  });
});

describe('ruleExpression', () => {
  // Evaluates the expression in JavaScript (sqrt as Math.sqrt) and compares with the cpu loops' formulas.
  const evaluate = (expr: string, vars: Record<string, number>) => {
    const names = Object.keys(vars);
    return new Function('sqrt', ...names, `return ${expr};`)(Math.sqrt, ...names.map((n) => vars[n])) as number;
  };
  const u = { lr: 0.01, b1: 0.9, b2: 0.999, a1: 0.1, a2: 1 - 0.999, eps: 1e-7, c1: 0.19, c2: 0.002 };
  const env = {
    old: 0.7,
    g: -0.3,
    lzM: 0.05,
    lzV: 0.02,
    lzAcc: 0.4,
    ...Object.fromEntries(UNIFORM_NAMES.map((n) => [`u_${n}`, u[n]])),
  };
  const expr = (rule: 'adam' | 'adagrad' | 'sgd', output: 'value' | 'slot0' | 'slot1') =>
    evaluate(
      ruleExpression(
        { rule, output },
        (n) => `u_${n}`,
        (name) => name,
      ),
      env,
    );

  it('is Adam as the cpu kernel computes it', () => {
    const m = 0.05 * 0.9 + -0.3 * 0.1;
    const v = 0.02 * 0.999 + 0.09 * (1 - 0.999);
    expect(expr('adam', 'slot0')).toBeCloseTo(0.7 * 0.9 + -0.3 * 0.1, 12);
    expect(expr('adam', 'slot1')).toBeCloseTo(0.7 * 0.999 + 0.09 * (1 - 0.999), 12);
    expect(expr('adam', 'value')).toBeCloseTo(0.7 - (0.01 * (m / 0.19)) / (Math.sqrt(v / 0.002) + 1e-7), 12);
  });

  it('is Adagrad and SGD as the cpu kernels compute them', () => {
    expect(expr('adagrad', 'slot0')).toBeCloseTo(0.7 + 0.09, 12);
    expect(expr('adagrad', 'value')).toBeCloseTo(0.7 - (0.01 * -0.3) / Math.sqrt(0.4 + 0.09 + 1e-7), 12);
    expect(expr('sgd', 'value')).toBeCloseTo(0.7 - 0.01 * -0.3, 12);
  });
});
