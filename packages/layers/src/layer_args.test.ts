// Every layer factory of the package takes tfjs's usual LayerArgs (inputShape, batchInputShape, name, trainable,
// dtype, weights): first layer of a tf.sequential, same outputs after a save/load round trip.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, weightsInTestRealm, expectClose, seededTensor } from '@meprop/test-utils';
import { mePropDense, mePropGRU, mePropLSTM, mePropSimpleRNN } from './index';

async function roundTrip(model: tf.LayersModel): Promise<{ loaded: tf.LayersModel; topology: string }> {
  weightsInTestRealm(model);
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved === undefined) throw new Error('model.save did not call the save handler');
  return { loaded: await tf.loadLayersModel(tf.io.fromMemory(saved)), topology: JSON.stringify(saved.modelTopology) };
}

const T = 4;
const F = 3;
const factories: Record<string, { make: (args: Record<string, unknown>) => tf.layers.Layer; inputShape: number[] }> = {
  mePropDense: { make: (args) => mePropDense({ units: 5, k: 2, ...args }), inputShape: [F] },
  mePropLSTM: { make: (args) => mePropLSTM({ units: 5, k: 2, ...args }), inputShape: [T, F] },
  mePropGRU: { make: (args) => mePropGRU({ units: 5, k: 2, ...args }), inputShape: [T, F] },
  mePropSimpleRNN: { make: (args) => mePropSimpleRNN({ units: 5, k: 2, ...args }), inputShape: [T, F] },
};

describeEachBackend('meProp layers take tfjs LayerArgs', () => {
  for (const [factory, { make, inputShape }] of Object.entries(factories)) {
    it(`${factory}: first layer of a tf.sequential with inputShape, name, dtype; saves and loads`, async () => {
      const layer = make({ inputShape, name: `${factory}_first`, dtype: 'float32' });
      const model = tf.sequential({ layers: [layer] });
      expect(model.inputs[0].shape).toEqual([null, ...inputShape]);
      const x = seededTensor([2, ...inputShape], 7);
      const { loaded, topology } = await roundTrip(model);
      expect(topology).toContain(`"batch_input_shape":[null,${inputShape.join(',')}]`);
      expect(loaded.layers[0].name).toBe(`${factory}_first`);
      expect(loaded.layers[0].getClassName()).toBe(layer.getClassName());
      const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
      expectClose(b, a, 1e-6);
      tf.dispose([x, a, b]);
      model.dispose();
      loaded.dispose();
    });

    it(`${factory}: batchInputShape, trainable: false and initial weights`, () => {
      const first = tf.sequential({ layers: [make({ inputShape })] });
      const weights = first.getWeights().map((w, i) => tf.add(w, i + 1));
      const layer = make({ batchInputShape: [2, ...inputShape], trainable: false, weights });
      const model = tf.sequential({ layers: [layer] });
      expect(model.inputs[0].shape).toEqual([2, ...inputShape]);
      expect(layer.trainableWeights).toEqual([]);
      layer.getWeights().forEach((w, i) => expectClose(w, weights[i], 0));
      tf.dispose(weights);
      first.dispose();
      model.dispose();
    });
  }
});
