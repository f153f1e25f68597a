// Where the unified conv backward's time goes in the process (tensorflow, issue 13's layer by default): each of
// its three ops timed alone (wall ms) with the minor page faults of the process during the call, in two
// schedules: "interleaved" (plain's Conv2DBackpropInput + Conv2DBackpropFilter run before each unified backward,
// as the bench does) and "alone" (the unified ops only). Also the whole backward as the bench runs it
// (mePropConv2dGradThunks: one MePropConvUnifiedBackward call where the native ops have it), the three ops back to
// back ("unified 3 ops", the path before that op) and the one op alone ("unified 1 op"), in both schedules. Run:
//   npx tsx --tsconfig packages/bench/tsconfig.json packages/bench/scripts/profile-conv-unified.ts [reps] [BxHxWxCIxCO] [k]
//     [alone|interleaved seconds: a loop for perf instead]
import * as tf from '@tensorflow/tfjs';
import {
  MePropConvSelectChannels,
  MePropConvUnifiedBackward,
  MePropConvUnifiedGradFilter,
  MePropConvUnifiedGradInput,
  mePropConv2dGradThunks,
  Rng,
  validateMePropConfig,
} from '@meprop/core';
import { setupBackend } from '../src/util/backend';
import { convProblem } from './conv_problem';

const faults = (): number => process.resourceUsage().minorPageFault;
const med = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

async function main(): Promise<void> {
  await setupBackend('tensorflow');
  const { reps, k, x, w, dy, attrs } = convProblem(process.argv);
  const run = (name: string, inputs: tf.NamedTensorMap, a: object) =>
    tf.engine().runKernel(name, inputs, a as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  const [ch, dyK] = run(MePropConvSelectChannels, { dy }, { k }) as tf.Tensor[];
  const runtime = { config: validateMePropConfig({ k, mode: 'unified', seed: 1 }), rng: new Rng(1) };
  const plain: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [
    [
      'plain dx',
      () => run('Conv2DBackpropInput', { dy, filter: w }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: x.shape }),
    ],
    [
      'plain dW',
      () => run('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: w.shape }),
    ],
  ];
  const ours: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [
    ['unified select', () => run(MePropConvSelectChannels, { dy }, { k })],
    ['unified dx', () => run(MePropConvUnifiedGradInput, { dyK, channels: ch, filter: w }, attrs)],
    ['unified dW', () => run(MePropConvUnifiedGradFilter, { dyK, channels: ch, x }, attrs)],
    [
      'unified 3 ops',
      () =>
        tf.tidy(() => {
          const [c, d] = run(MePropConvSelectChannels, { dy }, { k }) as tf.Tensor[];
          return [
            run(MePropConvUnifiedGradInput, { dyK: d, channels: c, filter: w }, attrs) as tf.Tensor,
            run(MePropConvUnifiedGradFilter, { dyK: d, channels: c, x }, attrs) as tf.Tensor,
          ];
        }),
    ],
    [
      'unified 1 op',
      () =>
        run(
          MePropConvUnifiedBackward,
          { dy, y: dy, x, filter: w },
          { ...attrs, k, activation: 'linear', withDx: true, withDw: true },
        ),
    ],
    [
      'unified whole',
      () =>
        tf.tidy(() => {
          const g = mePropConv2dGradThunks(dy, x, w, { strides: 1, pad: 'valid' }, runtime);
          return [g.x(), g.filter()];
        }),
    ],
  ];
  const loop = process.argv[5];
  if (loop !== undefined) {
    // A loop for a profiler (perf record -p): 'alone' (the whole unified backward) or 'interleaved' (plain's two
    // backprops before each) for [seconds].
    const whole = ours[ours.length - 1];
    const cases = loop === 'alone' ? [whole] : [...plain, whole];
    const end = Date.now() + Number(process.argv[6] ?? 10) * 1000;
    let n = 0;
    while (Date.now() < end) {
      for (const [, f] of cases) tf.dispose(f());
      n++;
    }
    console.log(`${loop}: ${n} rounds`);
    return;
  }
  // 'pause': plain's backprops, then 2 ms asleep (TensorFlow's threads stop spinning and sleep), then ours.
  const pause = (): number[] => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    return [];
  };
  const schedules = (process.env.SCHEDULES ?? 'interleaved,alone,pause,interleaved,alone,pause').split(',');
  for (const schedule of schedules) {
    const cases =
      schedule === 'interleaved'
        ? [...plain, ...ours]
        : schedule === 'pause'
          ? [...plain, ['pause', pause] as const, ...ours]
          : ours;
    const ms = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    const pf = cases.map(() => [] as number[]);
    for (let r = 0; r < reps + 3; r++) {
      cases.forEach(([, f], i) => {
        const f0 = faults();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const out = f();
        const t = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const df = faults() - f0;
        tf.dispose(out as tf.Tensor[]);
        if (r >= 3) {
          ms[i].push(t);
          cpu[i].push((c.user + c.system) / 1000);
          pf[i].push(df);
        }
      });
    }
    console.log(`-- ${schedule} (${reps} reps; median wall ms, min, median process CPU ms, minor faults per call: median, max)`);
    for (const [i, [name]] of cases.entries())
      if (name !== 'pause')
        console.log(
          `${name.padEnd(16)} ${med(ms[i]).toFixed(2)} ms (min ${Math.min(...ms[i]).toFixed(2)})  cpu ${med(cpu[i]).toFixed(2)}  faults ${med(pf[i])}, ${Math.max(...pf[i])}`,
        );
  }
  tf.dispose([x, w, dy, ch, dyK]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
