// Loads the model a user asks `meprop-bench model` to measure: a folder holding model.json (+ its weight files,
// as written by model.save or folderIO), a model.json file, or a JavaScript module exporting a factory.
// No tfjs-node needed: the folder is read through @meprop/layers' folderIO.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { folderIO } from '@meprop/layers/node';

/** What a model module may export: a function of tfjs (the instance @meprop/bench uses) returning the model. */
export type ModelFactory = (tfjs: typeof tf) => tf.LayersModel | Promise<tf.LayersModel>;

export interface LoadedModel {
  model: tf.LayersModel;
  /** 'model.json' or 'module'. */
  kind: 'model.json' | 'module';
}

function factoryOf(exported: unknown, file: string): ModelFactory {
  const candidates: unknown[] = [exported];
  if (exported !== null && typeof exported === 'object') {
    const o = exported as Record<string, unknown>;
    candidates.unshift(o.createModel, o.default, (o.default as Record<string, unknown> | undefined)?.createModel);
  }
  const fn = candidates.find((c) => typeof c === 'function');
  if (fn === undefined) {
    throw new Error(
      `${file}: expected the module to export a model factory (module.exports = (tf) => model, export default, or export function createModel), ` +
        `found exports: ${exported !== null && typeof exported === 'object' ? Object.keys(exported).join(', ') || 'none' : typeof exported}`,
    );
  }
  return fn as ModelFactory;
}

// A real dynamic import (tsc's CommonJS output would turn `import()` into require, which cannot load .mjs).
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

async function loadModule(file: string): Promise<tf.LayersModel> {
  const abs = path.resolve(file);
  let exported: unknown;
  if (abs.endsWith('.mjs')) {
    exported = await importEsm(`file://${abs}`);
  } else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(abs);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === 'ERR_REQUIRE_ESM') exported = await importEsm(`file://${abs}`);
      else throw new Error(`${file}: cannot load the module: ${err.message ?? String(e)}`);
    }
  }
  const model = await factoryOf(exported, file)(tf);
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(
      `${file}: the factory must return a tf.LayersModel (tf.sequential or tf.model) built with the tfjs it is given ` +
        `(its argument), got ${model === null ? 'null' : typeof model === 'object' ? (model as object).constructor.name : typeof model}`,
    );
  }
  return model;
}

/** Loads the model at `source` (folder with model.json, a model.json file, or a .js/.cjs/.mjs module). */
export async function loadUserModel(source: string): Promise<LoadedModel> {
  if (typeof source !== 'string' || source.length === 0) throw new Error(`model: expected a path, got ${JSON.stringify(source)}`);
  if (!fs.existsSync(source))
    throw new Error(`model: ${source} does not exist (expected a folder with model.json, a model.json file or a module)`);
  const stat = fs.statSync(source);
  let dir: string | null = null;
  if (stat.isDirectory()) {
    if (!fs.existsSync(path.join(source, 'model.json'))) throw new Error(`model: ${source} is a folder without model.json`);
    dir = source;
  } else if (path.basename(source) === 'model.json' || source.endsWith('.json')) {
    if (path.basename(source) !== 'model.json') {
      throw new Error(`model: ${source}: pass the folder of the model or its model.json (folderIO reads <folder>/model.json)`);
    }
    dir = path.dirname(source);
  }
  if (dir !== null) {
    let model: tf.LayersModel;
    try {
      model = await tf.loadLayersModel(folderIO(dir));
    } catch (e) {
      throw new Error(`model: cannot load ${path.join(dir, 'model.json')} as a tf.LayersModel: ${(e as Error).message}`);
    }
    return { model, kind: 'model.json' };
  }
  if (!/\.(c|m)?js$|\.ts$/.test(source)) {
    throw new Error(
      `model: ${source}: expected a folder with model.json, a model.json file or a .js/.cjs/.mjs module exporting a model factory`,
    );
  }
  return { model: await loadModule(source), kind: 'module' };
}
