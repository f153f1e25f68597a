// Times each op of the per-position and unified conv backward on tensorflow separately (issue 13's layer by
// default), interleaved with plain's two backprops. Run:
//   npx tsx --tsconfig packages/bench/tsconfig.json packages/bench/scripts/profile-conv-ops.ts [reps] [BxHxWxCIxCO] [k]
import * as tf from '@tensorflow/tfjs';
import {
  MePropConvSelectChannels,
  MePropConvSelectPositions,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  MePropSparseConvGradFilter,
  MePropSparseConvGradInput,
} from '@meprop/core';
import { setupBackend } from '../src/util/backend';
import { convProblem } from './conv_problem';

async function main(): Promise<void> {
  await setupBackend('tensorflow');
  const { reps, B, CO, OH, OW, k, x, w, dy, attrs } = convProblem(process.argv);
  const dy2 = tf.reshape(dy, [B * OH * OW, CO]);
  const run = (name: string, inputs: tf.NamedTensorMap, a: object) =>
    tf.engine().runKernel(name, inputs, a as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  const [idx, val] = run(MePropConvSelectPositions, { dy: dy2 }, { k }) as tf.Tensor[];
  const [ch, dyK] = run(MePropConvSelectChannels, { dy }, { k }) as tf.Tensor[];
  const cases: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [
    [
      'plain dx',
      () => run('Conv2DBackpropInput', { dy, filter: w }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: x.shape }),
    ],
    [
      'plain dW',
      () => run('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: w.shape }),
    ],
    ['per-pos select', () => run(MePropConvSelectPositions, { dy: dy2 }, { k })],
    ['per-pos dx', () => run(MePropSparseConvGradInput, { indices: idx, values: val, filter: w }, attrs)],
    ['per-pos dW', () => run(MePropSparseConvGradFilter, { indices: idx, values: val, x }, attrs)],
    ['unified select', () => run(MePropConvSelectChannels, { dy }, { k })],
    ['unified dx', () => run(MePropConvUnifiedGradInput, { dyK, channels: ch, filter: w }, attrs)],
    ['unified dW', () => run(MePropConvUnifiedGradFilter, { dyK, channels: ch, x }, attrs)],
  ];
  const only = process.argv[5];
  if (only !== undefined) {
    // A loop of one op for a profiler (perf record -p): [case name] [seconds].
    const f = cases.find(([name]) => name === only);
    if (f === undefined) throw new Error(`no case '${only}' (${cases.map(([n]) => n).join(', ')})`);
    const end = Date.now() + Number(process.argv[6] ?? 10) * 1000;
    let n = 0;
    const t0 = performance.now();
    while (Date.now() < end) {
      tf.dispose(f[1]());
      n++;
    }
    console.log(`${only}: ${n} calls, ${((performance.now() - t0) / n).toFixed(2)} ms each`);
    return;
  }
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < reps + 3; r++) {
    cases.forEach(([, f], i) => {
      const t0 = performance.now();
      const out = f();
      const t = performance.now() - t0;
      tf.dispose(out);
      if (r >= 3) times[i].push(t);
    });
  }
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
  for (const [i, [name]] of cases.entries())
    console.log(`${name.padEnd(16)} ${med(times[i]).toFixed(2)} ms (min ${Math.min(...times[i]).toFixed(2)})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
