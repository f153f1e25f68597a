// One training step (forward, backward, update) of a 784-500-500-10 MLP (relu hidden, softmax output),
// batch 32, Adam, k=20 unified: plain tfjs vs meProp + tfjs's Adam vs meProp + sparseAdam.
// Run: npx tsx packages/layers/bench/train_step.ts [--backend cpu|wasm] [--steps 30] [--k 20] [--mode unified]
//      [--tfjs-forward]  (meProp layers use tf.matMul's own forward kernel: isolates meProp's share on cpu)
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '../src/index';
import { MePropForwardMatMul } from '../src/kernels/kernel_names';
import type { MePropMode } from '@meprop/core';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function mlp(seed: number): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [784], units: 500, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.dense({ units: 500, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Wraps an optimizer's applyGradients to time the weight update (the rest of a step is forward + backward). */
function timed<O extends tf.Optimizer>(opt: O): { opt: O; updates: number[] } {
  const updates: number[] = [];
  const apply = opt.applyGradients.bind(opt);
  opt.applyGradients = (grads: Parameters<O['applyGradients']>[0]) => {
    const t0 = performance.now();
    apply(grads);
    updates.push(performance.now() - t0);
  };
  return { opt, updates };
}

/** Runs warm-up + timed steps; appends each timed step's time and its update's time (from `opt.updates`). */
async function timeSteps(model: tf.LayersModel, opt: { updates: number[] }, x: tf.Tensor, y: tf.Tensor, steps: number, warmup: number, out: { steps: number[]; updates: number[] }): Promise<void> {
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    if (i >= warmup) {
      out.steps.push(performance.now() - t0);
      out.updates.push(opt.updates[opt.updates.length - 1]);
    }
  }
}

async function main(): Promise<void> {
  const backend = arg('backend', 'cpu');
  const steps = Number(arg('steps', '30'));
  const k = Number(arg('k', '20'));
  const mode = arg('mode', 'unified') as MePropMode;
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: cannot activate '${backend}'`);
  await tf.ready();
  if (process.argv.includes('--tfjs-forward') && tf.getKernel(MePropForwardMatMul, backend) !== undefined) {
    tf.unregisterKernel(MePropForwardMatMul, backend);
    console.log('meProp layers use tfjs\'s own forward matmul (--tfjs-forward)');
  }
  const x = tf.randomUniform([32, 784], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32', 2), 10);

  const plain = mlp(7);
  const o0 = timed(tf.train.adam(1e-3));
  plain.compile({ optimizer: o0.opt, loss: 'categoricalCrossentropy' });
  const a = mePropify(plain, { k, mode }).model;
  const o1 = timed(tf.train.adam(1e-3));
  a.compile({ optimizer: o1.opt, loss: 'categoricalCrossentropy' });
  const b = mePropify(plain, { k, mode }).model;
  const o2 = timed(sparseAdam(1e-3));
  b.compile({ optimizer: o2.opt, loss: 'categoricalCrossentropy' });

  // Interleave rounds so background load on the shared machine hits all variants alike.
  const variants: Array<{ name: string; model: tf.LayersModel; opt: { updates: number[] }; steps: number[]; updates: number[] }> = [
    { name: 'plain tfjs + tf.train.adam', model: plain, opt: o0, steps: [], updates: [] },
    { name: `meProp k=${k} ${mode} + tf.train.adam`, model: a, opt: o1, steps: [], updates: [] },
    { name: `meProp k=${k} ${mode} + sparseAdam`, model: b, opt: o2, steps: [], updates: [] },
  ];
  const rounds = 3;
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) await timeSteps(v.model, v.opt, x, y, Math.ceil(steps / rounds), r === 0 ? 3 : 1, v);
  }
  const rows: Array<[string, number, number]> = variants.map((v) => [v.name, median(v.steps), median(v.updates)]);
  const base = rows[0][1];
  console.log(`backend=${backend} batch=32 MLP 784-500-500-10 (relu, softmax) steps=${steps} (median of all timed steps; 3 interleaved rounds, warm-up excluded)`);
  console.log(`${''.padEnd(40)} ${'step'.padStart(10)}  speed-up  (of which: weight update / forward+backward)`);
  for (const [name, ms, u] of rows) {
    console.log(`${name.padEnd(40)} ${ms.toFixed(1).padStart(7)} ms  ${(base / ms).toFixed(2).padStart(6)}x   ${u.toFixed(1).padStart(6)} ms / ${(ms - u).toFixed(1).padStart(6)} ms`);
  }
  // With tfjs's own Adam the update is the same dense work in both models: it bounds the step's speed-up.
  console.log(`bound with tf.train.adam (forward+backward free): ${(base / rows[1][2]).toFixed(2)}x`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
