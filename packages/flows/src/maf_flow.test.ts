import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { mafFlow, MafFlow } from './maf_flow';
import { standardNormalLogProb } from './normal';
import { CheckableFlow, checkFiniteForward, checkFlow, forceShiftAndScale } from './test-helpers/flow_checker';
import { roundTrip } from './test-helpers/save_load';

/** The checker's view of a MAF: forward is sampling (noise -> data), inverse the one-pass density direction. */
function checkable(flow: MafFlow): CheckableFlow {
  return {
    eventSize: flow.eventSize,
    contextSize: flow.contextSize,
    forward: (u, h) => flow.forward(u, h),
    inverse: (x, h) => tf.tidy(() => flow.inverse(x, h).z),
  };
}

/** The same flow seen from the data side: forward is x -> u in one pass. */
function checkableInverse(flow: MafFlow): CheckableFlow {
  return {
    eventSize: flow.eventSize,
    contextSize: flow.contextSize,
    forward: (x, h) => flow.inverse(x, h),
    inverse: (u, h) => tf.tidy(() => flow.forward(u, h).z),
  };
}

describeEachBackend('mafFlow', () => {
  it.each([
    ['1 step', { steps: 1 }],
    ['3 steps, context, random order', { steps: 3, contextSize: 2, inputOrder: 'random' as const }],
  ] as const)('passes the flow checker in both directions (%s)', (_, c) => {
    const flow = mafFlow({ eventSize: 4, hiddenUnits: [8], seed: 5, ...c });
    checkFlow(checkable(flow));
    checkFlow(checkableInverse(flow));
  });

  it('gives log p(x) = log N(u) + log|det ∂u/∂x| in one call', () => {
    const flow = mafFlow({ eventSize: 3, steps: 2, hiddenUnits: [5], contextSize: 2, seed: 1 });
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const h = tf.randomNormal([5, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const lp = flow.logProb(x, h);
    const r = flow.inverse(x, h);
    const want = tf.add(standardNormalLogProb(r.z), r.logDet);
    expect(lp.shape).toEqual([5]);
    expect(tf.max(tf.abs(tf.sub(lp, want))).dataSync()[0]).toBeLessThan(1e-5);
    // Samples decode back to their noise.
    const eps = tf.randomNormal([5, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
    expect(tf.max(tf.abs(tf.sub(flow.inverse(flow.sample(eps, h), h).z, eps))).dataSync()[0]).toBeLessThan(1e-4);
  });

  it('stays finite with s forced to ±30 (clipped) in both directions', () => {
    const flow = mafFlow({ eventSize: 3, steps: 2, hiddenUnits: [5], seed: 2 });
    flow.logProb(tf.zeros([1, 3]) as tf.Tensor2D);
    for (const s of [30, -30]) {
      forceShiftAndScale(flow.weights, 1, s);
      checkFiniteForward(checkable(flow), `sampling, s = ${s}`);
      checkFiniteForward(checkableInverse(flow), `density, s = ${s}`);
    }
  });

  it('learns a correlated Gaussian: maximum likelihood beats the standard normal it starts from', async () => {
    const flow = mafFlow({ eventSize: 2, steps: 2, hiddenUnits: [16], seed: 3 });
    const data = tf.tidy(() => {
      const e = tf.randomNormal([256, 2], 0, 1, 'float32', 9);
      const [a, b] = tf.unstack(e, 1);
      return tf.stack([tf.mul(a, 2), tf.add(tf.mul(a, 1.5), tf.mul(b, 0.3))], 1) as tf.Tensor2D;
    });
    const nll = () => tf.neg(tf.mean(flow.logProb(data)));
    const before = nll().dataSync()[0];
    const opt = tf.train.adam(0.03);
    const vars = flow.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let i = 0; i < 100; i++) tf.dispose(opt.minimize(() => nll() as tf.Scalar, true, vars) as tf.Scalar);
    const after = nll().dataSync()[0];
    // The true density of this data has entropy log(2πe)+log|det A| = 2.84 + log(0.6) = 2.33 nats.
    expect(after).toBeLessThan(before - 1);
    expect(after).toBeLessThan(2.8);
  });

  it('saves and reloads to identical log-densities', async () => {
    const xIn = tf.input({ shape: [3] });
    const hIn = tf.input({ shape: [2] });
    const out = mafFlow({ eventSize: 3, steps: 2, hiddenUnits: [4], contextSize: 2, inputOrder: [1, 2, 0] }).apply([xIn, hIn]);
    const model = tf.model({ inputs: [xIn, hIn], outputs: out as tf.SymbolicTensor });
    const xs = [tf.randomNormal([3, 3], 0, 1, 'float32', 1), tf.randomNormal([3, 2], 0, 1, 'float32', 2)];
    const { loaded, topology } = await roundTrip(model);
    expect(topology).toContain('MePropFlows>MafFlow');
    expect(topology).toContain('[[1,2,0],[0,2,1]]');
    expect((loaded.predict(xs) as tf.Tensor).arraySync()).toEqual((model.predict(xs) as tf.Tensor).arraySync());
  });

  it('rejects bad arguments with the argument name and value', () => {
    expect(() => mafFlow({ eventSize: 0, hiddenUnits: [4] })).toThrow(/eventSize must be an integer >= 1, got 0/);
    expect(() => mafFlow({ eventSize: 4, hiddenUnits: [2] })).toThrow(/hiddenUnits\[0\] must be >= eventSize - 1 = 3.*got 2/);
    expect(() => mafFlow({ eventSize: 2, hiddenUnits: [4], logScaleClip: 0 })).toThrow(/logScaleClip must be > 0, got 0/);
    const flow = mafFlow({ eventSize: 2, hiddenUnits: [4], contextSize: 3 });
    expect(() => flow.logProb(tf.zeros([2, 2]) as tf.Tensor2D, tf.zeros([2, 1]) as tf.Tensor2D)).toThrow(
      /context must have shape \[batch, 3\], got \[2, 1\]/,
    );
  });
});
