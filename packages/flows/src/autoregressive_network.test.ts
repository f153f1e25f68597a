import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { autoregressiveNetwork } from './autoregressive_network';
import { InputOrder, inputDegrees, resolveOrder } from './masks';
import { batchJacobian } from './test-helpers/flow_checker';
import { roundTrip } from './test-helpers/save_load';

describeEachBackend('autoregressiveNetwork (MADE)', () => {
  const D = 5;
  const orders: InputOrder[] = ['left-to-right', 'right-to-left', 'random', [3, 0, 4, 2, 1]];

  it.each(orders.map((o) => [JSON.stringify(o), o] as const))(
    'output i depends exactly on the inputs before i, order %s',
    (_, order) => {
      const made = autoregressiveNetwork({
        eventSize: D,
        hiddenUnits: [7, 9],
        params: 2,
        inputOrder: order,
        activation: 'tanh',
        seed: 4,
      });
      const pos = inputDegrees(resolveOrder(order, D, 4));
      const z = tf.randomNormal([3, D], 0, 1, 'float32', 1) as tf.Tensor2D;
      for (let p = 0; p < 2; p++) {
        const jac = batchJacobian(
          (x) => tf.squeeze(tf.slice(made.apply(x) as tf.Tensor3D, [0, 0, p], [-1, -1, 1]), [2]) as tf.Tensor2D,
          z,
        );
        for (const j of jac) {
          for (let i = 0; i < D; i++) {
            for (let k = 0; k < D; k++) {
              // Exactly zero on and above the diagonal in the order; with tanh and random weights, never zero below.
              if (pos[k] >= pos[i]) expect(j[i][k]).toBe(0);
              else expect(Math.abs(j[i][k])).toBeGreaterThan(0);
            }
          }
        }
      }
    },
  );

  it('returns [batch, eventSize, params] and lets every output depend on the context', () => {
    const made = autoregressiveNetwork({ eventSize: D, hiddenUnits: [6], params: 3, contextSize: 2, seed: 2 });
    const z = tf.randomNormal([4, D], 0, 1, 'float32', 1);
    const a = made.apply([z, tf.zeros([4, 2])]) as tf.Tensor;
    const b = made.apply([z, tf.ones([4, 2])]) as tf.Tensor;
    expect(a.shape).toEqual([4, D, 3]);
    const diff = tf.abs(tf.sub(a, b)).dataSync();
    // The first dimension in the order has no inputs before it, yet it too must see h.
    diff.forEach((d) => expect(d).toBeGreaterThan(0));
  });

  it('saves and reloads a random order and its masks to identical outputs', async () => {
    const z = tf.input({ shape: [D] });
    const h = tf.input({ shape: [2] });
    const layer = autoregressiveNetwork({ eventSize: D, hiddenUnits: [8], contextSize: 2, inputOrder: 'random', seed: 9 });
    const model = tf.model({ inputs: [z, h], outputs: layer.apply([z, h]) as tf.SymbolicTensor });
    const xs = [tf.randomNormal([3, D], 0, 1, 'float32', 1), tf.randomNormal([3, 2], 0, 1, 'float32', 2)];
    const { loaded, topology } = await roundTrip(model);
    expect(topology).toContain('MePropFlows>AutoregressiveNetwork');
    expect(topology).toContain(JSON.stringify(resolveOrder('random', D, 9)));
    expect((loaded.predict(xs) as tf.Tensor).arraySync()).toEqual((model.predict(xs) as tf.Tensor).arraySync());
  });

  it('rejects bad arguments with the argument name and value', () => {
    expect(() => autoregressiveNetwork({ eventSize: 0, hiddenUnits: [4] })).toThrow(/eventSize must be an integer >= 1, got 0/);
    expect(() => autoregressiveNetwork({ eventSize: 6, hiddenUnits: [10, 2] })).toThrow(
      /hiddenUnits\[1\] must be >= eventSize - 1 = 5.*got 2/,
    );
    expect(() => autoregressiveNetwork({ eventSize: 3, hiddenUnits: [4], inputOrder: [0, 2, 2] })).toThrow(
      /inputOrder must be a permutation of 0\.\.2.*\[0, 2, 2\]/,
    );
    expect(() => autoregressiveNetwork({ eventSize: 3, hiddenUnits: [4], params: 0 })).toThrow(
      /params must be an integer >= 1, got 0/,
    );
    const made = autoregressiveNetwork({ eventSize: 3, hiddenUnits: [4], contextSize: 2 });
    expect(() => made.apply([tf.zeros([2, 3]), tf.zeros([2, 5])])).toThrow(/context must have shape \[batch, 2\], got \[2, 5\]/);
    expect(() => made.apply(tf.zeros([2, 3]))).toThrow(/context: contextSize is 2, so inputs must be \[z, h\]/);
    made.apply([tf.zeros([2, 3]), tf.zeros([2, 2])]);
    // Once built, a later call with the wrong width is caught too.
    expect(() => made.apply([tf.zeros([2, 3]), tf.zeros([2, 4])])).toThrow(/context must have shape \[2, 2\], got \[2, 4\]/);
    expect(() => made.apply([tf.zeros([2, 4]), tf.zeros([2, 2])])).toThrow(/z must have shape \[batch, 3\], got \[2, 4\]/);
  });
});
