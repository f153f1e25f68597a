import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { iafStep } from './iaf_step';
import { checkFiniteForward, checkFlow, forceShiftAndScale } from './test-helpers/flow_checker';
import { roundTrip } from './test-helpers/save_load';

/** log sigmoid(a) in float64, the way a reader would write it: −log(1 + e^−a), stable for both signs. */
function logSigmoid64(a: number): number {
  return a >= 0 ? -Math.log1p(Math.exp(-a)) : a - Math.log1p(Math.exp(a));
}

describeEachBackend('iafStep', () => {
  const cases = [
    { label: 'stable', stable: true, contextSize: 0 },
    { label: 'stable with context', stable: true, contextSize: 3 },
    { label: 'affine', stable: false, contextSize: 0 },
    { label: 'affine with context, random order', stable: false, contextSize: 2, inputOrder: 'random' as const },
  ];

  it.each(cases.map((c) => [c.label, c] as const))('passes the flow checker (%s)', (_, c) => {
    const step = iafStep({ eventSize: 4, hiddenUnits: [8, 8], seed: 3, ...c });
    checkFlow(step);
  });

  it('computes log|det| through log-sigmoid, finite and exact for s near ±30 and far beyond', () => {
    const step = iafStep({ eventSize: 3, hiddenUnits: [5], contextSize: 2, seed: 1 });
    const z = tf.randomNormal([2, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const h = tf.randomNormal([2, 2], 0, 1, 'float32', 2) as tf.Tensor2D;
    step.forward(z, h);
    for (const s of [30, -30, -200]) {
      forceShiftAndScale(step.weights, 1, s);
      checkFiniteForward(step, `s = ${s}`);
      const logDet = step.forward(z, h).logDet.dataSync();
      const want = 3 * logSigmoid64(s + 2);
      logDet.forEach((v) => expect(Math.abs(v - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want))));
    }
  });

  it('keeps the affine form finite for s near ±30', () => {
    const step = iafStep({ eventSize: 3, hiddenUnits: [5], stable: false, seed: 1 });
    step.forward(tf.zeros([1, 3]));
    for (const s of [30, -30]) {
      forceShiftAndScale(step.weights, 1, s);
      checkFiniteForward(step, `affine, s = ${s}`);
    }
  });

  it('starts near the identity with the default forget bias', () => {
    const step = iafStep({ eventSize: 4, hiddenUnits: [6], seed: 5 });
    const z = tf.randomNormal([8, 4], 0, 1, 'float32', 7) as tf.Tensor2D;
    const r = step.forward(z);
    // σ = sigmoid(s + 2) with s around 0 keeps most of z: the output stays strongly correlated with the input.
    const rel = tf.norm(tf.sub(r.z, z)).dataSync()[0] / tf.norm(z).dataSync()[0];
    expect(rel).toBeLessThan(0.5);
    expect(step.getConfig().forgetBias).toBe(2);
  });

  it('saves and reloads to identical outputs, order included', async () => {
    const zIn = tf.input({ shape: [4] });
    const hIn = tf.input({ shape: [2] });
    const outs = iafStep({ eventSize: 4, hiddenUnits: [6], contextSize: 2, inputOrder: [2, 0, 3, 1], forgetBias: 1.5 }).apply([
      zIn,
      hIn,
    ]);
    const model = tf.model({ inputs: [zIn, hIn], outputs: outs as tf.SymbolicTensor[] });
    const xs = [tf.randomNormal([3, 4], 0, 1, 'float32', 1), tf.randomNormal([3, 2], 0, 1, 'float32', 2)];
    const { loaded, topology } = await roundTrip(model);
    expect(topology).toContain('MePropFlows>IafStep');
    expect(topology).toContain('[2,0,3,1]');
    const a = model.predict(xs) as tf.Tensor[];
    const b = loaded.predict(xs) as tf.Tensor[];
    expect(b.map((t) => t.arraySync())).toEqual(a.map((t) => t.arraySync()));
  });

  it('rejects bad arguments with the argument name and value', () => {
    expect(() => iafStep({ eventSize: 0, hiddenUnits: [4] })).toThrow(/eventSize must be an integer >= 1, got 0/);
    expect(() => iafStep({ eventSize: 5, hiddenUnits: [3] })).toThrow(/hiddenUnits\[0\] must be >= eventSize - 1 = 4.*got 3/);
    expect(() => iafStep({ eventSize: 3, hiddenUnits: [4], forgetBias: NaN })).toThrow(
      /forgetBias must be a finite number, got NaN/,
    );
    expect(() => iafStep({ eventSize: 3, hiddenUnits: [4], inputOrder: [1, 2, 3] })).toThrow(/inputOrder.*\[1, 2, 3\]/);
    const step = iafStep({ eventSize: 3, hiddenUnits: [4], contextSize: 2 });
    expect(() => step.forward(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(
      /context must have shape \[batch, 2\], got \[2, 3\]/,
    );
  });
});
