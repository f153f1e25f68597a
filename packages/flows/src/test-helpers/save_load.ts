// Saves a LayersModel to memory and loads it back, as a file round trip would (no tfjs-node needed).
import * as tf from '@tensorflow/tfjs';
import { weightsInTestRealm } from '@meprop/test-utils';

export async function roundTrip(model: tf.LayersModel): Promise<{ loaded: tf.LayersModel; topology: string }> {
  weightsInTestRealm(model);
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('model.save did not call the save handler');
  const artifacts = saved as tf.io.ModelArtifacts;
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return { loaded, topology: JSON.stringify(artifacts.modelTopology) };
}
