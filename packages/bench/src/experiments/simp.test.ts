// meprop-bench simp trains the meSimp model in parts of an epoch and the plain models in whole epochs: the
// parts must be the same batches.
import * as tf from '@tensorflow/tfjs';
import {
  capSchedule,
  ClippedAdam,
  lrAtEpoch,
  paperMlp,
  partRange,
  setLearningRate,
  simpOptimizer,
  withLearningRate,
} from './simp';

describe('simp: parts of an epoch', () => {
  test.each([
    [4000, 100, 8],
    [8004, 100, 8],
    [8004, 32, 8],
    [250, 100, 3],
    [1000, 100, 10],
  ])('n=%i, batch %i, %i parts: consecutive, whole batches, the epoch together', (n, batch, parts) => {
    const ranges = Array.from({ length: parts }, (_, p) => partRange(n, batch, p, parts));
    expect(ranges[0][0]).toBe(0);
    expect(ranges[parts - 1][1]).toBe(n);
    for (let p = 0; p < parts; p++) {
      const [from, to] = ranges[p];
      expect(to).toBeGreaterThan(from); // no empty part (parts <= batches)
      expect(from % batch).toBe(0);
      if (p < parts - 1) {
        expect(to % batch).toBe(0);
        expect(ranges[p + 1][0]).toBe(to);
      }
    }
    // Sizes differ by at most one batch: the simplifications are evenly spread.
    const sizes = ranges.map(([a, b]) => Math.ceil((b - a) / batch));
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  test('one part is the whole epoch', () => {
    expect(partRange(8004, 32, 0, 1)).toEqual([0, 8004]);
  });
});

describe('simp: the meSimp code settings', () => {
  test('simpOptimizer: plain Adam without clip (it used to recurse forever), ClippedAdam with it', () => {
    const plain = simpOptimizer({ learningRate: 0.01, clip: undefined });
    // By constructor: tfjs's optimizers answer instanceof by duck typing, so ClippedAdam would pass for Adam.
    expect(plain.constructor).toBe(tf.AdamOptimizer);
    expect((plain as tf.AdamOptimizer).getConfig().learningRate).toBe(0.01);
    const clipped = simpOptimizer({ learningRate: 0.002, clip: 5 });
    expect(clipped.constructor).toBe(ClippedAdam);
    expect((clipped as ClippedAdam).getConfig().learningRate).toBe(0.002);
    plain.dispose();
    clipped.dispose();
  });

  test('ClippedAdam = Adam on the gradients clipped entry by entry, no tensor left behind', () => {
    const grads = [10, -0.5, -7, 4.99];
    const start = [0.1, -0.2, 0.3, 0.4];
    const run = (opt: tf.Optimizer, g: number[]): Float32Array => {
      const v = tf.variable(tf.tensor1d(start), true, 'w');
      const before = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const gt = tf.tensor1d(g.map((x) => x * (step + 1)));
        opt.applyGradients([{ name: 'w', tensor: gt }]);
        gt.dispose();
      }
      // Adam's two moments (and the step count on the first step) are its only new tensors.
      expect(tf.memory().numTensors - before).toBeLessThanOrEqual(3);
      const out = v.dataSync() as Float32Array;
      v.dispose();
      opt.dispose();
      return out;
    };
    // With clip 5: steps 2 and 3 scale the gradients (x2, x3), so more entries hit the bound.
    const a = run(new ClippedAdam(0.01, 5), grads);
    const refGrads = [1, 2, 3].map((m) => grads.map((g) => Math.max(-5, Math.min(5, g * m))));
    const v = tf.variable(tf.tensor1d(start), true, 'w');
    const ref = tf.train.adam(0.01);
    for (const g of refGrads) {
      const gt = tf.tensor1d(g);
      ref.applyGradients([{ name: 'w', tensor: gt }]);
      gt.dispose();
    }
    const b = v.dataSync() as Float32Array;
    v.dispose();
    ref.dispose();
    for (let i = 0; i < start.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
    // And clipping changed something: unclipped Adam ends elsewhere for the entries beyond ±5.
    const c = run(tf.train.adam(0.01), grads);
    expect(Math.abs(c[0] - a[0]) + Math.abs(c[2] - a[2])).toBeGreaterThan(1e-4);
  });

  test("init 'mesimp': zero biases, kernels N(0, sqrt(6 / (fan_in + fan_out))); 'meprop': U(±1/sqrt(fan_out))", () => {
    const m = paperMlp([500, 500], 1, 0, 'mesimp');
    const dense = m.layers.filter((l) => l.getClassName() === 'Dense');
    const widths = [784, 500, 500, 10];
    dense.forEach((l, i) => {
      const [kernel, bias] = l.getWeights();
      expect(Array.from(bias.dataSync()).every((b) => b === 0)).toBe(true);
      const k = Array.from(kernel.dataSync());
      const meanK = k.reduce((s, x) => s + x, 0) / k.length;
      const sd = Math.sqrt(k.reduce((s, x) => s + (x - meanK) ** 2, 0) / k.length);
      const want = Math.sqrt(6 / (widths[i] + widths[i + 1]));
      expect(Math.abs(meanK)).toBeLessThan(0.05 * want);
      // tfjs's randomNormal is not truncated: the sample sd is the asked one (5000+ draws: within 5%).
      expect(Math.abs(sd / want - 1)).toBeLessThan(0.05);
    });
    m.dispose();
    const u = paperMlp([500, 500], 1, 0);
    const [k1, b1] = u.layers[0].getWeights();
    const bound = 1 / Math.sqrt(500);
    for (const t of [k1, b1]) {
      const largest = Array.from(t.dataSync()).reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      expect(largest).toBeLessThanOrEqual(bound);
      expect(largest).toBeGreaterThan(0.9 * bound);
    }
    u.dispose();
  });
});

describe('simp: the cap schedule of --max-units', () => {
  test.each([
    [500, 175, 20],
    [500, 150, 8],
    [500, 175, 1],
    [64, 30, 5],
  ])(
    'hidden %i → target %i over %i simplifications: never growing, first cut largest, ends at the target',
    (hidden, target, steps) => {
      const caps = capSchedule(hidden, target, steps);
      expect(caps.length).toBe(steps);
      expect(caps[steps - 1]).toBe(target);
      expect(caps[0]).toBeLessThan(hidden);
      for (let s = 0; s < steps; s++) {
        expect(caps[s]).toBeGreaterThanOrEqual(target);
        // The cubic rule, by hand: target + (hidden - target)(1 - (s+1)/steps)^3, rounded.
        const f = 1 - (s + 1) / steps;
        expect(caps[s]).toBe(Math.round(target + (hidden - target) * f * f * f));
        if (s > 0) {
          expect(caps[s]).toBeLessThanOrEqual(caps[s - 1]);
          // No later cut is larger than the first (one unit of rounding aside).
          expect(caps[s - 1] - caps[s]).toBeLessThanOrEqual(hidden - caps[0] + 1);
        }
      }
    },
  );
});

describe('simp: --last-cycle-lr in the plain arms', () => {
  test('withLearningRate: a fresh Adam at the new rate with the old moments and step count; the old one freed', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: 'ones' })] });
    const x = tf.tensor2d([
      [1, 2, 3],
      [0, -1, 2],
    ]);
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const old = tf.train.adam(0.01);
    model.compile({ optimizer: old, loss: 'meanSquaredError' });
    await model.fit(x, y, { epochs: 2, batchSize: 2, verbose: 0 });
    const before = (await old.getWeights()).map((w) => ({ name: w.name, value: Array.from(w.tensor.dataSync()) }));
    const start = tf.memory().numTensors;
    const next = await withLearningRate(old, { clip: undefined }, 0.001);
    expect((next as tf.AdamOptimizer).getConfig().learningRate).toBe(0.001);
    const after = await next.getWeights();
    expect(after.map((w) => ({ name: w.name, value: Array.from(w.tensor.dataSync()) }))).toEqual(before);
    tf.dispose(after[0].tensor); // the step count is a fresh scalar
    // The old optimizer's 4 moments and 2 beta powers are gone, the new one holds as many (+ iterations read above).
    expect(tf.memory().numTensors).toBe(start);
    // Training goes on from the carried step count (2 steps before, 3 after one more).
    model.compile({ optimizer: next, loss: 'meanSquaredError' });
    await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    expect((await next.getWeights())[0].tensor.dataSync()[0]).toBe(3);
    next.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('simp: --final-lr (cosine decay over the last cycle)', () => {
  test('lrAtEpoch: the base rate before the last cycle, then a cosine from its rate to the final one', () => {
    // 10 epochs, the last 5 the last cycle: epochs 0-4 at the base rate.
    for (let e = 0; e < 5; e++) expect(lrAtEpoch(e, 10, 5, 1e-3, 5e-4, 1e-5)).toBe(1e-3);
    expect(lrAtEpoch(5, 10, 5, 1e-3, 5e-4, 1e-5)).toBeCloseTo(5e-4, 12);
    // Half way (epoch 7 of 5..9): the mean of the two ends; cos(pi/4) at a quarter.
    expect(lrAtEpoch(7, 10, 5, 1e-3, 5e-4, 1e-5)).toBeCloseTo((5e-4 + 1e-5) / 2, 12);
    expect(lrAtEpoch(6, 10, 5, 1e-3, 5e-4, 1e-5)).toBeCloseTo(1e-5 + ((5e-4 - 1e-5) * (1 + Math.SQRT1_2)) / 2, 12);
    expect(lrAtEpoch(9, 10, 5, 1e-3, 5e-4, 1e-5)).toBeCloseTo(1e-5, 12);
    // Without a final rate: the last cycle's rate throughout; a one-epoch last cycle: the final rate.
    expect(lrAtEpoch(9, 10, 5, 1e-3, 5e-4, undefined)).toBe(5e-4);
    expect(lrAtEpoch(9, 10, 1, 1e-3, 1e-3, 1e-5)).toBe(1e-5);
  });

  test("setLearningRate: Adam's next update uses the new rate (first step: lr * sign(g)); other optimizers refused", () => {
    for (const opt of [tf.train.adam(0.1), new ClippedAdam(0.1, 5)]) {
      const v = tf.variable(tf.tensor1d([1, 1]), true, 'lr_probe');
      setLearningRate(opt, 0.003);
      const g = tf.tensor1d([2, -0.5]);
      opt.applyGradients([{ name: 'lr_probe', tensor: g }]);
      const moved = Array.from(v.dataSync()).map((a) => 1 - a);
      expect(moved[0]).toBeCloseTo(0.003, 6);
      expect(moved[1]).toBeCloseTo(-0.003, 6);
      tf.dispose([v, g]);
      opt.dispose();
    }
    const sgd = tf.train.sgd(0.1);
    expect(() => setLearningRate(sgd, 0.01)).toThrow(/cannot set the learning rate of SGD/);
    sgd.dispose();
  });
});
