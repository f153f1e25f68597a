// Every layer factory of the package takes tfjs's usual LayerArgs: as the first layer of a tf.sequential with
// inputShape (single-output layers), or of a tf.model (the [z, logDet] flows), and through a save/load round trip.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, expectClose, seededTensor } from '@meprop/test-utils';
import { autoregressiveNetwork } from './autoregressive_network';
import { iafFlow } from './iaf_flow';
import { iafStep } from './iaf_step';
import { mafFlow } from './maf_flow';
import { maskedDense } from './masked_dense';
import { roundTrip } from './test-helpers/save_load';

const D = 3;
const mask = [
  [0, 1],
  [0, 0],
  [1, 1],
];

/** The single-output layers, each made with the LayerArgs given. */
const singleOutput: Record<string, (args: Record<string, unknown>) => tf.layers.Layer> = {
  maskedDense: (args) => maskedDense({ mask, seed: 1, ...args }),
  autoregressiveNetwork: (args) => autoregressiveNetwork({ eventSize: D, hiddenUnits: [6], seed: 1, ...args }),
  mafFlow: (args) => mafFlow({ eventSize: D, hiddenUnits: [6], steps: 2, seed: 1, ...args }),
};

/** The [z, logDet] flows: not allowed in a tf.sequential (one output per layer there), so in a tf.model. */
const twoOutputs: Record<string, (args: Record<string, unknown>) => tf.layers.Layer> = {
  iafStep: (args) => iafStep({ eventSize: D, hiddenUnits: [6], seed: 1, ...args }),
  iafFlow: (args) => iafFlow({ eventSize: D, hiddenUnits: [6], steps: 2, seed: 1, ...args }),
};

function outputsOf(model: tf.LayersModel, x: tf.Tensor): tf.Tensor[] {
  const out = model.predict(x);
  return Array.isArray(out) ? out : [out];
}

describeEachBackend('flow layers take tfjs LayerArgs', () => {
  for (const [factory, make] of Object.entries(singleOutput)) {
    it(`${factory}: first layer of a tf.sequential with inputShape, name, dtype; saves and loads`, async () => {
      const layer = make({ inputShape: [D], name: `${factory}_first`, dtype: 'float32' });
      const model = tf.sequential({ layers: [layer] });
      expect(model.inputs[0].shape).toEqual([null, D]);
      expect(layer.name).toBe(`${factory}_first`);
      const x = seededTensor([4, D], 5);
      const { loaded, topology } = await roundTrip(model);
      expect(topology).toContain('"batch_input_shape":[null,3]');
      expect(loaded.layers[0].name).toBe(`${factory}_first`);
      expectClose(outputsOf(loaded, x)[0], outputsOf(model, x)[0], 1e-6);
      tf.dispose([x]);
      model.dispose();
      loaded.dispose();
    });

    it(`${factory}: batchInputShape, trainable: false and initial weights`, () => {
      const first = tf.sequential({ layers: [make({ inputShape: [D] })] });
      const weights = first.getWeights().map((w, i) => tf.add(w, i + 1));
      const layer = make({ batchInputShape: [2, D], trainable: false, weights });
      const model = tf.sequential({ layers: [layer] });
      expect(model.inputs[0].shape).toEqual([2, D]);
      expect(layer.trainableWeights).toEqual([]);
      expect(layer.getWeights().length).toBe(weights.length);
      layer.getWeights().forEach((w, i) => expectClose(w, weights[i], 0));
      tf.dispose(weights);
      first.dispose();
      model.dispose();
    });
  }

  for (const [factory, make] of Object.entries(twoOutputs)) {
    it(`${factory}: LayerArgs (inputShape, name, trainable, weights) kept, in the config and after a save/load`, async () => {
      const probe = make({});
      const z0 = tf.input({ shape: [D] });
      const probeModel = tf.model({ inputs: z0, outputs: probe.apply(z0) as tf.SymbolicTensor[] });
      const weights = probeModel.getWeights().map((w, i) => tf.add(w, 0.01 * (i + 1)));

      const layer = make({ inputShape: [D], name: `${factory}_first`, trainable: false, weights });
      expect(layer.getConfig()).toMatchObject({ name: `${factory}_first`, trainable: false, batchInputShape: [null, D] });
      const z = tf.input({ shape: [D] });
      const model = tf.model({ inputs: z, outputs: layer.apply(z) as tf.SymbolicTensor[] });
      expect(layer.trainableWeights).toEqual([]);
      layer.getWeights().forEach((w, i) => expectClose(w, weights[i], 0));
      const x = seededTensor([4, D], 6);
      const { loaded } = await roundTrip(model);
      const [a, b] = [outputsOf(model, x), outputsOf(loaded, x)];
      expect(b.length).toBe(2);
      expectClose(b[0], a[0], 1e-6);
      expectClose(b[1], a[1], 1e-6);
      expect(loaded.getLayer(`${factory}_first`).trainable).toBe(false);
      tf.dispose([x, ...weights, ...a, ...b]);
      probeModel.dispose();
      model.dispose();
      loaded.dispose();
    });
  }
});
