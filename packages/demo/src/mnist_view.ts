// The MNIST view: the same MLP trained plain (tf.train.adam) and with meProp (mePropify + the lazy
// sparseAdam) side by side, on the same batches in the same order, steps interleaved so both see the same
// machine load; live loss and test-accuracy charts and the median ms per step of each.
import * as tf from '@tensorflow/tfjs';
import { mePropify, sparseAdam } from '@meprop/layers';
import type { MePropMode } from '@meprop/core';
import { describeBackend, DemoBackend, useBackend } from './backend';
import type { MnistStatus } from './demo_status';
import { LineChart } from './line_chart';
import type { Digits, DigitSet } from './mnist_data';

export interface MnistRunOptions {
  backend: DemoBackend;
  k: number;
  mode: MePropMode;
  hidden: number;
  trainDigits: number;
  epochs: number;
  batchSize: number;
  /** Evaluate test accuracy every this many steps (on evalDigits test digits). */
  evalEvery: number;
  evalDigits: number;
}

const WARMUP_STEPS = 3; // shader compilation and first allocations are not a step's cost
const PLAIN = '#1f77b4';
const MEPROP = '#d62728';

function mlp(hidden: number): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: hidden, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }),
    ],
  });
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A permutation of 0..n-1 from a small LCG, so both models see the same batches. */
function permutation(n: number, seed: number): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function batch(set: DigitSet, order: Uint32Array, from: number, size: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const n = Math.min(size, order.length - from);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = order[from + i];
    x.set(set.images.subarray(idx * 784, (idx + 1) * 784), i * 784);
    y[i] = set.labels[idx];
  }
  return tf.tidy(() => ({ xs: tf.tensor2d(x, [n, 784]), ys: tf.oneHot(tf.tensor1d(y, 'int32'), 10) as tf.Tensor2D }));
}

async function accuracy(model: tf.LayersModel, set: DigitSet, count: number): Promise<number> {
  const n = Math.min(count, set.n);
  const hits = tf.tidy(() => {
    const xs = tf.tensor2d(set.images.subarray(0, n * 784), [n, 784]);
    const pred = tf.argMax(model.predict(xs) as tf.Tensor, 1);
    return tf.sum(tf.cast(tf.equal(pred, tf.tensor1d(Array.from(set.labels.subarray(0, n)), 'int32')), 'float32'));
  });
  const v = (await hits.data())[0];
  hits.dispose();
  return v / n;
}

export class MnistView {
  private stopRequested = false;
  private readonly lossChart: LineChart;
  private readonly accChart: LineChart;

  constructor(
    private readonly el: { loss: HTMLCanvasElement; acc: HTMLCanvasElement; stats: HTMLElement; backendInfo: HTMLElement },
    private readonly status: MnistStatus,
  ) {
    this.lossChart = new LineChart(el.loss, 'training loss (moving average over 20 steps)', 'step');
    this.accChart = new LineChart(el.acc, 'test accuracy', 'step');
  }

  stop(): void {
    this.stopRequested = true;
  }

  async run(digits: Digits, o: MnistRunOptions): Promise<void> {
    this.stopRequested = false;
    Object.assign(this.status, {
      state: 'training',
      backend: o.backend,
      k: o.k,
      mode: o.mode,
      epochsDone: 0,
      steps: 0,
      chartPoints: 0,
      error: undefined,
    });
    await useBackend(o.backend);
    this.el.backendInfo.textContent = describeBackend(o.backend);
    const train: DigitSet = {
      images: digits.train.images.subarray(0, o.trainDigits * 784),
      labels: digits.train.labels.subarray(0, o.trainDigits),
      n: Math.min(o.trainDigits, digits.train.n),
    };

    const plain = mlp(o.hidden);
    const { model: meProp } = mePropify(plain, { k: o.k, mode: o.mode }); // same initial weights
    plain.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    meProp.compile({ optimizer: sparseAdam(1e-3), loss: 'categoricalCrossentropy' });

    const loss = { plain: [] as Array<[number, number]>, meProp: [] as Array<[number, number]> };
    const acc = { plain: [] as Array<[number, number]>, meProp: [] as Array<[number, number]> };
    const ms = { plain: [] as number[], meProp: [] as number[] };
    const ema = { plain: NaN, meProp: NaN };
    const smooth = (prev: number, v: number): number => (Number.isNaN(prev) ? v : prev + (v - prev) / 20);
    const evaluate = async (step: number, count: number): Promise<void> => {
      this.status.plainAccuracy = await accuracy(plain, digits.test, count);
      this.status.mePropAccuracy = await accuracy(meProp, digits.test, count);
      acc.plain.push([step, this.status.plainAccuracy]);
      acc.meProp.push([step, this.status.mePropAccuracy]);
      this.accChart.draw([
        { name: 'plain tfjs', color: PLAIN, points: acc.plain },
        { name: `meProp k=${o.k} ${o.mode}`, color: MEPROP, points: acc.meProp },
      ]);
    };

    try {
      let step = 0;
      await evaluate(0, o.evalDigits);
      for (let epoch = 0; epoch < o.epochs && !this.stopRequested; epoch++) {
        const order = permutation(train.n, 1000 + epoch);
        for (let from = 0; from < train.n && !this.stopRequested; from += o.batchSize) {
          const { xs, ys } = batch(train, order, from, o.batchSize);
          const t0 = performance.now();
          const lp = (await plain.trainOnBatch(xs, ys)) as number; // resolves once the loss is read back
          const t1 = performance.now();
          const lm = (await meProp.trainOnBatch(xs, ys)) as number;
          const t2 = performance.now();
          tf.dispose([xs, ys]);
          step++;
          if (step > WARMUP_STEPS) {
            ms.plain.push(t1 - t0);
            ms.meProp.push(t2 - t1);
          }
          ema.plain = smooth(ema.plain, lp);
          ema.meProp = smooth(ema.meProp, lm);
          loss.plain.push([step, ema.plain]);
          loss.meProp.push([step, ema.meProp]);
          this.status.steps = step;
          this.status.plainMsPerStep = median(ms.plain);
          this.status.mePropMsPerStep = median(ms.meProp);
          if (step % 5 === 0 || from + o.batchSize >= train.n) {
            this.lossChart.draw([
              { name: 'plain tfjs', color: PLAIN, points: loss.plain },
              { name: `meProp k=${o.k} ${o.mode}`, color: MEPROP, points: loss.meProp },
            ]);
            this.status.chartPoints = loss.plain.length;
            this.renderStats(o);
            await tf.nextFrame(); // let the page repaint
          }
          if (step % o.evalEvery === 0) await evaluate(step, o.evalDigits);
        }
        if (!this.stopRequested) {
          await evaluate(step, digits.test.n); // the whole test set at the end of each epoch
          this.status.epochsDone = epoch + 1;
        }
      }
      this.renderStats(o);
      this.status.state = 'done';
    } finally {
      plain.dispose();
      meProp.dispose();
    }
  }

  private renderStats(o: MnistRunOptions): void {
    const s = this.status;
    const ratio = s.plainMsPerStep / s.mePropMsPerStep;
    this.el.stats.innerHTML = `
      <table>
        <tr><th></th><th>ms / step (median)</th><th>test accuracy</th></tr>
        <tr><td style="color:${PLAIN}">plain tfjs (Adam)</td><td>${s.plainMsPerStep.toFixed(1)}</td><td>${(100 * s.plainAccuracy).toFixed(2)}%</td></tr>
        <tr><td style="color:${MEPROP}">meProp k=${o.k} ${o.mode} (sparseAdam)</td><td>${s.mePropMsPerStep.toFixed(1)}</td><td>${(100 * s.mePropAccuracy).toFixed(2)}%</td></tr>
      </table>
      <p>step ${s.steps}, epoch ${s.epochsDone}/${o.epochs}; meProp step ${Number.isFinite(ratio) ? ratio.toFixed(2) : '–'}× as fast as plain on ${o.backend}
      (MLP 784-${o.hidden}-${o.hidden}-10, batch ${o.batchSize}, ${o.trainDigits} training digits)</p>`;
  }
}
