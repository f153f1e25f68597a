import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { iafFlow } from './iaf_flow';
import { standardNormalLogProb } from './normal';
import { checkFiniteForward, checkFlow, forceShiftAndScale } from './test-helpers/flow_checker';
import { roundTrip } from './test-helpers/save_load';

describeEachBackend('iafFlow', () => {
  it.each([
    ['stable, 3 steps, context', { steps: 3, contextSize: 2 }],
    ['affine, 2 steps', { steps: 2, stable: false }],
  ] as const)('passes the flow checker (%s)', (_, c) => {
    checkFlow(iafFlow({ eventSize: 4, hiddenUnits: [8], seed: 7, ...c }));
  });

  it('reverses the order between steps and sums the log-dets', () => {
    const flow = iafFlow({ eventSize: 3, steps: 3, hiddenUnits: [4], inputOrder: [1, 0, 2] });
    expect(flow.getConfig().inputOrders).toEqual([
      [1, 0, 2],
      [2, 0, 1],
      [1, 0, 2],
    ]);
    const z = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const r = flow.forward(z);
    let x = z;
    let sum = tf.zeros([5]);
    for (const t of flow.transforms) {
      const r = t.forward(x);
      x = r.z;
      sum = tf.add(sum, r.logDet);
    }
    expect(r.z.arraySync()).toEqual(x.arraySync());
    expect(r.logDet.arraySync()).toEqual(sum.arraySync());
  });

  it('stays finite with s forced to ±30 in every step', () => {
    const flow = iafFlow({ eventSize: 3, steps: 2, hiddenUnits: [5], contextSize: 2, seed: 2 });
    flow.forward(tf.zeros([1, 3]), tf.zeros([1, 2]));
    for (const s of [30, -30]) {
      forceShiftAndScale(flow.weights, 1, s);
      checkFiniteForward(flow, `s = ${s}`);
    }
  });

  it('gives its own samples log q = log N(eps) − log|det| through sample and logProb alike', () => {
    const flow = iafFlow({ eventSize: 4, steps: 2, hiddenUnits: [6], contextSize: 3, seed: 3 });
    const eps = tf.randomNormal([6, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
    const h = tf.randomNormal([6, 3], 0, 1, 'float32', 5) as tf.Tensor2D;
    const s = flow.sample(eps, h);
    const want = tf.sub(standardNormalLogProb(eps), flow.forward(eps, h).logDet);
    expect(tf.max(tf.abs(tf.sub(s.logProb, want))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(flow.logProb(s.z, h), s.logProb))).dataSync()[0]).toBeLessThan(1e-3);
  });

  it('saves and reloads to identical outputs, every step order included', async () => {
    const zIn = tf.input({ shape: [4] });
    const hIn = tf.input({ shape: [2] });
    const outs = iafFlow({ eventSize: 4, steps: 3, hiddenUnits: [6], contextSize: 2, inputOrder: 'random', seed: 11 }).apply([
      zIn,
      hIn,
    ]);
    const model = tf.model({ inputs: [zIn, hIn], outputs: outs as tf.SymbolicTensor[] });
    const xs = [tf.randomNormal([3, 4], 0, 1, 'float32', 1), tf.randomNormal([3, 2], 0, 1, 'float32', 2)];
    const { loaded, topology } = await roundTrip(model);
    expect(topology).toContain('MePropFlows>IafFlow');
    expect(topology).toContain('input_orders');
    const a = model.predict(xs) as tf.Tensor[];
    const b = loaded.predict(xs) as tf.Tensor[];
    expect(b.map((t) => t.arraySync())).toEqual(a.map((t) => t.arraySync()));
  });

  it('rejects bad arguments with the argument name and value', () => {
    expect(() => iafFlow({ eventSize: 3, steps: 0, hiddenUnits: [4] })).toThrow(/steps must be an integer >= 1, got 0/);
    expect(() =>
      iafFlow({
        eventSize: 3,
        steps: 2,
        hiddenUnits: [4],
        inputOrders: [
          [0, 1, 2],
          [0, 1, 1],
        ],
      }),
    ).toThrow(/inputOrders\[1\] must be a permutation of 0\.\.2.*\[0, 1, 1\]/);
    expect(() => iafFlow({ eventSize: -1, steps: 1, hiddenUnits: [4] })).toThrow(/eventSize must be an integer >= 1, got -1/);
  });
});
