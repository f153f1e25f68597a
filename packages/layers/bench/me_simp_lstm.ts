// meSimp on an LSTM text classifier (synthetic keyword task, see src/test-helpers/keyword_sequences.ts):
// a plain LSTM, the same model trained in meSimp cycles (meProp + simplification), and a plain LSTM trained
// from scratch at the reduced size; same initial weights and batches per seed. Prints units and accuracy.
//
// Run: npx tsx packages/layers/bench/me_simp_lstm.ts [--backend wasm|cpu] [--units 64] [--k 16]
//      [--threshold 0.03] [--cycles 3] [--epochs 4] (per cycle) [--train 2000] [--test 1000] [--steps 12]
//      [--vocab 24] [--classes 4] [--seeds 1] [--lr 0.005]
import * as tf from '@tensorflow/tfjs';
import { simplifyInCycles } from '../src/index';
import { classificationAccuracy, keywordSequences, shuffledOrder } from '../src/test-helpers/keyword_sequences';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function lstmClassifier(units: number, steps: number, vocab: number, classes: number, seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.lstm({
        inputShape: [steps, vocab],
        units,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
        name: 'lstm',
      }),
      tf.layers.dense({
        units: classes,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
        name: 'out',
      }),
    ],
  });
}

async function trainEpoch(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, seed: number, epoch: number): Promise<void> {
  const idx = tf.tensor1d(shuffledOrder(x.shape[0], seed * 1000 + epoch), 'int32');
  const [xs, ys] = [tf.gather(x, idx), tf.gather(y, idx)];
  await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([idx, xs, ys]);
}

async function main(): Promise<void> {
  const backend = arg('backend', 'wasm');
  const units = Number(arg('units', '64'));
  const k = Number(arg('k', '16'));
  const threshold = Number(arg('threshold', '0.03'));
  const cycles = Number(arg('cycles', '3'));
  const epochs = Number(arg('epochs', '4'));
  const steps = Number(arg('steps', '12'));
  const vocab = Number(arg('vocab', '24'));
  const classes = Number(arg('classes', '4'));
  const seeds = Number(arg('seeds', '1'));
  const lr = Number(arg('lr', '0.005'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional backends, loaded only when asked for
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`--backend: cannot activate '${backend}'`);
  const train = keywordSequences(Number(arg('train', '2000')), steps, vocab, classes, 1);
  const test = keywordSequences(Number(arg('test', '1000')), steps, vocab, classes, 2);
  const total = cycles * epochs;
  console.log(
    `keyword task: ${train.x.shape[0]} train / ${test.x.shape[0]} test sequences of ${steps} tokens (vocab ${vocab}, ${classes} classes); LSTM ${units}, Adam ${lr}, batch 32, backend ${backend}`,
  );
  console.log(
    `meSimp: k=${k} of ${4 * units} gate entries, threshold ${threshold}, ${cycles} cycles of ${epochs} epochs (the last cycle fine-tunes)`,
  );
  const rows: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const plain = lstmClassifier(units, steps, vocab, classes, seed * 10);
    plain.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy' });
    for (let e = 0; e < total; e++) await trainEpoch(plain, train.x, train.y, seed, e);
    const plainAcc = classificationAccuracy(plain, test.x, test.y);

    const perCycle: string[] = [];
    const { model: simple } = await simplifyInCycles(lstmClassifier(units, steps, vocab, classes, seed * 10), {
      mePropify: { k },
      threshold,
      minUnits: 2,
      cycles,
      simplifyLast: false,
      optimizer: () => tf.train.adam(lr),
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m, c) => {
        for (let e = 0; e < epochs; e++) await trainEpoch(m, train.x, train.y, seed, c * epochs + e);
      },
      onCycleEnd: ({ model, units: u }) => {
        perCycle.push(`${u.lstm} units ${(classificationAccuracy(model, test.x, test.y) * 100).toFixed(1)}%`);
      },
    });
    const reducedUnits = (simple.layers[0].getConfig() as { units: number }).units;
    const simpleAcc = classificationAccuracy(simple, test.x, test.y);

    const reduced = lstmClassifier(reducedUnits, steps, vocab, classes, seed * 10);
    reduced.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy' });
    for (let e = 0; e < total; e++) await trainEpoch(reduced, train.x, train.y, seed, e);
    const reducedAcc = classificationAccuracy(reduced, test.x, test.y);
    const row = `seed ${seed}: plain LSTM ${units}: ${(plainAcc * 100).toFixed(2)}% | meSimp ${units} -> ${reducedUnits}: ${(simpleAcc * 100).toFixed(2)}% (per cycle: ${perCycle.join(', ')}) | plain LSTM ${reducedUnits} from scratch: ${(reducedAcc * 100).toFixed(2)}%`;
    console.log(row);
    rows.push(row);
    for (const m of [plain, simple, reduced]) m.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
