// folderIO: save and load a tfjs model to a folder in Node (model.json + weights.bin) without tfjs-node.
// Node-only (fs, path): exported from the `@meprop/layers/node` entry, never from the main one, so that a
// browser bundle of `@meprop/layers` needs no shims for Node's modules.
import * as fs from 'fs/promises';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** An IOHandler with both halves present. */
export interface FolderIOHandler extends tf.io.IOHandler {
  save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult>;
  load(): Promise<tf.io.ModelArtifacts>;
}

/**
 * An IOHandler for `model.save(folderIO(dir))` and `tf.loadLayersModel(folderIO(dir))`: writes
 * `dir/model.json` and `dir/weights.bin` (creating dir), reads them back. Works with any backend.
 */
export function folderIO(dir: string): FolderIOHandler {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new Error(`folderIO: dir must be a non-empty path string, got ${JSON.stringify(dir)}`);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('folderIO: saving a binary (GraphDef) topology is not supported; save a tf.LayersModel');
      }
      await fs.mkdir(dir, { recursive: true });
      const weightData =
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
      // Weights first: a model.json never points at a missing or stale weights file.
      await fs.writeFile(path.join(dir, WEIGHTS_BIN), Buffer.from(weightData));
      await fs.writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJSON));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData }) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const file = path.join(dir, MODEL_JSON);
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(await fs.readFile(file, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`folderIO: cannot read ${file}: ${(e as Error).message}`);
      }
      if (modelJSON.modelTopology == null) throw new Error(`folderIO: ${file} has no modelTopology`);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(toArrayBuffer(await fs.readFile(path.join(dir, p))));
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}
