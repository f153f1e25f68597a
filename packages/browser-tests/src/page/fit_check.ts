// Runs inside Chromium: mePropify a small MLP, train it with model.fit and the lazy sparseAdam on one
// backend, and report the loss per epoch and the tensor count across repeated fit calls.
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '@meprop/layers';
import type { FitReport } from './check_result';

/** Four separable classes in 20 dimensions: class c shifts features 5c..5c+4 by +2 (deterministic). */
function dataset(n: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const x = new Float32Array(n * 20);
  const labels: number[] = [];
  let s = 12345;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    labels.push(c);
    for (let j = 0; j < 20; j++) x[i * 20 + j] = next() + (Math.floor(j / 5) === c ? 2 : 0);
  }
  return { xs: tf.tensor2d(x, [n, 20]), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 4) as tf.Tensor2D };
}

export async function runFitCheck(backend: string): Promise<FitReport> {
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`runFitCheck: backend '${backend}' could not be activated (active: ${tf.getBackend()})`);
  }
  await tf.ready();
  const original = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [20],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({ units: 64, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  const { model, report } = mePropify(original, { k: 8, mode: 'unified' });
  original.dispose();
  model.compile({ optimizer: sparseAdam(0.01), loss: 'categoricalCrossentropy' });
  const { xs, ys } = dataset(256);
  const history = await model.fit(xs, ys, { epochs: 6, batchSize: 32, shuffle: false, verbose: 0 });
  const tensorsAfterFirstFit = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
  const tensorsAfterLastFit = tf.memory().numTensors;
  const losses = (history.history.loss as number[]).map(Number);
  tf.dispose([xs, ys]);
  model.dispose();
  return { backend, losses, tensorsAfterFirstFit, tensorsAfterLastFit, converted: report.converted.map((c) => c.name) };
}
