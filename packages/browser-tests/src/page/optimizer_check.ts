// Runs inside Chromium: the lazy optimizers' update kernels on a backend against cpu, end to end. A small
// MLP, mePropified (unified), takes three optimizer.minimize steps (as model.fit runs them: on webgl and
// webgpu through @meprop/core's sparse-gradient session and the MePropSparseLazyUpdate kernel; elsewhere the
// dense lazy update) on the backend and on cpu from the same weights and batches; every weight is compared.
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam, sparseSgd } from '@meprop/layers';
import type { CheckResult, OptimizerReport } from './check_result';

function batch(step: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  let s = 777 + step;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const x = Float32Array.from({ length: 16 * 20 }, next);
  const labels = Array.from({ length: 16 }, (_, i) => (i + step) % 4);
  return { x: tf.tensor2d(x, [16, 20]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 4) as tf.Tensor2D };
}

async function train(backend: string, make: () => tf.Optimizer): Promise<{ weights: Float32Array[]; grew: number }> {
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`runOptimizerCheck: backend '${backend}' could not be activated (active: ${tf.getBackend()})`);
  }
  await tf.ready();
  const original = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [20],
        units: 24,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
      tf.layers.dense({ units: 17, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  const { model } = mePropify(original, { k: 5, mode: 'unified' });
  original.dispose();
  const optimizer = make();
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  let grew = 0;
  for (let step = 0; step < 3; step++) {
    const { x, y } = batch(step);
    const before = tf.memory().numTensors;
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor), true, vars);
    loss?.dispose();
    // The first step creates the optimizer's slots and the sparse session's cached zeros.
    if (step > 0) grew += tf.memory().numTensors - before;
    tf.dispose([x, y]);
  }
  const weights = await Promise.all(vars.map((v) => v.data() as Promise<Float32Array>));
  optimizer.dispose();
  model.dispose();
  return { weights, grew };
}

export async function runOptimizerCheck(backend: string): Promise<OptimizerReport> {
  const makers: Array<[string, () => tf.Optimizer]> = [
    // An explicit epsilon: the default is the backend's (webgl under SwiftShader reports 1e-4, cpu 1e-7).
    ['sparseAdam', () => sparseAdam(0.01, 0.9, 0.999, 1e-7)],
    ['sparseSgd', () => sparseSgd(0.1)],
  ];
  const checks: CheckResult[] = [];
  const grew: Record<string, number> = {};
  for (const [name, make] of makers) {
    const want = await train('cpu', make);
    const got = await train(backend, make);
    grew[name] = got.grew;
    want.weights.forEach((w, i) => {
      let worst = got.weights[i].length === w.length ? 0 : NaN;
      for (let e = 0; e < w.length; e++)
        worst = Math.max(worst, Math.abs(got.weights[i][e] - w[e]) / Math.max(1, Math.abs(w[e])));
      checks.push({ name: `${name} weight ${i}`, maxRelDiff: worst, tol: 1e-5 });
    });
  }
  return {
    backend,
    sparseKernel: tf.getKernel('MePropSparseLazyUpdate', backend) !== undefined,
    checks,
    tensorsGrown: grew,
  };
}
