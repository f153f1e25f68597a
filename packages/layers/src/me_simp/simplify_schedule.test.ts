// simplifyInCycles with several simplifications per cycle (partsPerCycle) and cycles that do not simplify
// (simplifyCycle): checked from the outside, by snapshotting each part's model and optimizer state and
// comparing them with the next part's.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { simplifyInCycles } from './simplify_cycles';
import { signPatternData, SMALL_MLP_IN, smallMlp } from '../test-helpers/small_mlp';

const IN = SMALL_MLP_IN;
const HIDDEN = 24;
const mlp = () => smallMlp(HIDDEN);
const data = signPatternData;

type Matrix = number[][];

/** A model's weights [W1, b1, W2, b2, W3, b3] and its optimizer's slots (by weight index) as arrays. */
interface Snapshot {
  weights: Array<Matrix | number[]>;
  slots: Array<{ weight: number; suffix: string; value: Matrix | number[] }>;
  iterations: number;
}

async function snapshot(m: tf.LayersModel): Promise<Snapshot> {
  const weights = m.getWeights().map((w) => w.arraySync() as Matrix | number[]);
  const names = m.weights.map((w) => w.name);
  const [iter, ...rest] = await m.optimizer.getWeights();
  const slots = rest.map((s) => {
    const weight = names.findIndex((n) => s.name === n || s.name.startsWith(`${n}/`));
    expect(weight).toBeGreaterThanOrEqual(0);
    return { weight, suffix: s.name.slice(names[weight].length), value: s.tensor.arraySync() as Matrix | number[] };
  });
  const iterations = iter.tensor.dataSync()[0];
  iter.tensor.dispose(); // a fresh scalar; the slots are the optimizer's own variables
  return { weights, slots, iterations };
}

const column = (w: Matrix, j: number): number[] => w.map((row) => row[j]);
const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Which old units each new unit is: new column j of the layer's kernel is exactly old column kept[j]. */
function keptUnits(oldKernel: Matrix, newKernel: Matrix, oldRows: number[] | null): number[] {
  const rows = (w: Matrix, idx: number[] | null) => (idx === null ? w : idx.map((r) => w[r]));
  const old = rows(oldKernel, oldRows);
  const kept: number[] = [];
  for (let j = 0; j < newKernel[0].length; j++) {
    const c = column(newKernel, j);
    const from = old[0].map((_, i) => i).filter((i) => !kept.includes(i) && same(column(old, i), c));
    expect(from.length).toBeGreaterThanOrEqual(1);
    kept.push(from[0]);
  }
  return kept;
}

/** The old model's output with the units not in kept1 / kept2 forced to zero (plain ops, inference mode). */
function forcedZero(w: Array<Matrix | number[]>, kept1: number[], kept2: number[], x: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const mask = (kept: number[], n: number) => tf.tensor1d(Array.from({ length: n }, (_, j) => (kept.includes(j) ? 1 : 0)));
    const dense = (a: tf.Tensor, k: number) =>
      tf.add(tf.matMul(a as tf.Tensor2D, tf.tensor2d(w[k] as Matrix)), tf.tensor1d(w[k + 1] as number[]));
    const a1 = tf.mul(tf.relu(dense(x, 0)), mask(kept1, (w[1] as number[]).length));
    const a2 = tf.mul(tf.relu(dense(a1, 2)), mask(kept2, (w[3] as number[]).length));
    return tf.softmax(dense(a2, 4));
  });
}

describeEachBackend('training in cycles, several simplifications per cycle', () => {
  test('every part removes units gradually; each smaller model equals the previous one with those units forced to zero, with its optimizer state cut alike', async () => {
    const original = mlp();
    const { x, y } = data(192, 3);
    const start = tf.memory().numTensors;
    const calls: string[] = [];
    let prev: Snapshot | null = null;
    // Units of the original model that the current model's units are (h1, h2), followed part by part.
    let origin1 = Array.from({ length: HIDDEN }, (_, j) => j);
    let origin2 = [...origin1];
    let cycleStart: { h1: number[]; h2: number[] } = { h1: origin1, h2: origin2 };
    const cycleStarts: Array<{ h1: number[]; h2: number[] }> = [];
    let boundaries = 0;
    const { model, cycles } = await simplifyInCycles(original, {
      mePropify: { k: 3, mode: 'per-example' },
      threshold: 0.1,
      minUnits: 4,
      cycles: 2,
      partsPerCycle: 3,
      optimizer: () => tf.train.adam(0.02),
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m, cycle, part) => {
        calls.push(`${cycle}.${part}`);
        const now = await snapshot(m);
        if (part === 0) {
          cycleStart = { h1: origin1, h2: origin2 };
          cycleStarts.push(cycleStart);
        }
        if (prev !== null) {
          const kept1 = keptUnits(prev.weights[0] as Matrix, now.weights[0] as Matrix, null);
          const kept2 = keptUnits(prev.weights[2] as Matrix, now.weights[2] as Matrix, kept1);
          if (kept1.length < (prev.weights[1] as number[]).length || kept2.length < (prev.weights[3] as number[]).length)
            boundaries++;
          // The smaller model computes what the previous one did with the removed units' activations at zero.
          const got = m.predict(x) as tf.Tensor;
          const want = forcedZero(prev.weights, kept1, kept2, x);
          const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]);
          expect(diff).toBeLessThan(1e-5);
          tf.dispose([got, want]);
          // Every weight and every optimizer slot is the old one at the kept units (the step count goes on).
          const cut = [
            (w: Matrix) => w.map((r) => kept1.map((j) => r[j])),
            (b: number[]) => kept1.map((j) => b[j]),
            (w: Matrix) => kept1.map((i) => kept2.map((j) => w[i][j])),
            (b: number[]) => kept2.map((j) => b[j]),
            (w: Matrix) => kept2.map((i) => w[i]),
            (b: number[]) => b,
          ] as Array<(v: Matrix | number[]) => Matrix | number[]>;
          now.weights.forEach((w, i) => expect(w).toEqual(cut[i](prev!.weights[i])));
          expect(now.iterations).toBe(prev.iterations);
          expect(now.slots.length).toBe(prev.slots.length);
          for (const s of now.slots) {
            const old = prev.slots.find((p) => p.weight === s.weight && p.suffix === s.suffix);
            expect(old).toBeDefined();
            expect(s.value).toEqual(cut[s.weight](old!.value));
          }
          origin1 = kept1.map((j) => origin1[j]);
          origin2 = kept2.map((j) => origin2[j]);
          if (part === 0) cycleStarts[cycleStarts.length - 1] = { h1: origin1, h2: origin2 };
        }
        await m.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, shuffle: false });
        prev = await snapshot(m);
      },
    });
    expect(calls).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2']);
    // The sizes after each part never grow.
    const sizes = cycles.flatMap((c) => c.partUnits.map((u) => [u.h1, u.h2]));
    expect(sizes.length).toBe(6);
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i][0]).toBeLessThanOrEqual(sizes[i - 1][0]);
      expect(sizes[i][1]).toBeLessThanOrEqual(sizes[i - 1][1]);
    }
    expect(sizes[5][0]).toBeLessThan(HIDDEN);
    // The last part's simplification (after the last train call) is checked against the final model, and the
    // units it kept are followed too, so that the last cycle's report covers it.
    const kept1 = keptUnits(prev!.weights[0] as Matrix, model.getWeights()[0].arraySync() as Matrix, null);
    const kept2 = keptUnits(prev!.weights[2] as Matrix, model.getWeights()[2].arraySync() as Matrix, kept1);
    if (kept1.length < (prev!.weights[1] as number[]).length || kept2.length < (prev!.weights[3] as number[]).length)
      boundaries++;
    const got = model.predict(x) as tf.Tensor;
    const want = forcedZero(prev!.weights, kept1, kept2, x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([got, want]);
    // Gradual: units went at more than one of the six simplifications (one after every part).
    expect(boundaries).toBeGreaterThanOrEqual(2);
    origin1 = kept1.map((j) => origin1[j]);
    origin2 = kept2.map((j) => origin2[j]);
    // Each cycle's report: sizes from the cycle's start, kept = the units followed above, as indices into it.
    cycles.forEach((c, i) => {
      const startUnits = cycleStarts[i];
      for (const [layer, origin] of [
        ['h1', i === 1 ? origin1 : null],
        ['h2', i === 1 ? origin2 : null],
      ] as const) {
        const r = c.report[layer];
        expect(r.before).toBe(startUnits[layer].length);
        expect(r.after).toBe(c.units[layer]);
        expect(r.kept.length).toBe(r.after);
        if (origin !== null) expect(r.kept.map((j) => startUnits[layer][j])).toEqual(origin);
      }
    });
    expect(model.getWeights()[0].shape).toEqual([IN, cycles[1].units.h1]);
    expect(tf.memory().numTensors).toBe(start + model.weights.length);
    model.dispose();
    tf.dispose([x, y]);
  });

  test('a cycle that does not simplify trains its size in every part; a fresh optimizer at each cycle when asked', async () => {
    const original = mlp();
    const { x, y } = data(192, 4);
    const iterations: number[] = [];
    const { model, cycles } = await simplifyInCycles(original, {
      mePropify: { k: 3, mode: 'per-example' },
      threshold: 0.15,
      minUnits: 4,
      cycles: 3,
      partsPerCycle: (cycle) => (cycle === 1 ? 2 : 3),
      simplifyCycle: (cycle) => cycle !== 1,
      keepOptimizerState: false,
      optimizer: () => tf.train.adam(0.02),
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m, _cycle, part) => {
        if (part === 0) iterations.push(m.optimizer.iterations);
        await m.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, shuffle: false });
      },
    });
    expect(cycles.map((c) => c.partUnits.length)).toEqual([3, 1, 3]);
    // Cycle 1 does not simplify: same size in and out, and it reads activeness only at its end.
    expect(cycles[1].report.h1.before).toBe(cycles[0].units.h1);
    expect(cycles[1].units).toEqual(cycles[0].units);
    expect(cycles[1].report.h1.kept).toEqual(Array.from({ length: cycles[0].units.h1 }, (_, j) => j));
    expect(cycles[2].units.h1).toBeLessThanOrEqual(cycles[1].units.h1);
    expect(cycles.map((c) => c.optimizerStateKept)).toEqual([false, false, false]);
    expect(iterations).toEqual([0, 0, 0]);
    model.dispose();
    original.dispose();
    tf.dispose([x, y]);
  });

  test('maxUnits as a function of cycle and part caps every simplification; the optimizer factory gets the cycle', async () => {
    const original = mlp();
    const { x, y } = data(192, 4);
    const caps: { [key: string]: number } = { '0:0': 20, '0:1': 14, '0:2': 9 };
    const asked: string[] = [];
    const optimizerCycles: number[] = [];
    const rates: number[] = [];
    const { model, cycles } = await simplifyInCycles(original, {
      mePropify: { k: 3, mode: 'per-example' },
      // Threshold 0: only the cap removes units.
      threshold: 0,
      minUnits: 2,
      cycles: 2,
      partsPerCycle: (cycle) => (cycle === 0 ? 3 : 1),
      simplifyLast: false,
      maxUnits: (cycle, part) => {
        asked.push(`${cycle}:${part}`);
        return caps[`${cycle}:${part}`];
      },
      optimizer: (cycle) => {
        optimizerCycles.push(cycle);
        return tf.train.adam(cycle === 1 ? 0.001 : 0.02);
      },
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m) => {
        rates.push((m.optimizer.getConfig() as { learningRate: number }).learningRate);
        await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, shuffle: false });
      },
    });
    // Asked only after the parts of the simplifying cycle.
    expect(asked).toEqual(['0:0', '0:1', '0:2']);
    expect(cycles[0].partUnits.map((u) => [u.h1, u.h2])).toEqual([
      [20, 20],
      [14, 14],
      [9, 9],
    ]);
    expect(cycles[1].units).toEqual({ h1: 9, h2: 9, out: cycles[1].units.out });
    expect(model.getWeights()[0].shape).toEqual([IN, 9]);
    // A fresh optimizer per model: cycle 0's three (one per size), then the last cycle's at its own rate.
    expect(optimizerCycles).toEqual([0, 0, 0, 1]);
    expect(rates).toEqual([0.02, 0.02, 0.02, 0.001]);
    model.dispose();
    original.dispose();
    tf.dispose([x, y]);
  });

  test('bad schedule options: errors name the option and the value', async () => {
    const base = {
      mePropify: { k: 4 },
      threshold: 0.1,
      cycles: 2,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: async () => undefined,
    };
    const m = mlp();
    await expect(simplifyInCycles(m, { ...base, partsPerCycle: 0 })).rejects.toThrow(
      /options\.partsPerCycle must be an integer >= 1 or a function of the cycle, got 0/,
    );
    await expect(simplifyInCycles(m, { ...base, partsPerCycle: 2.5 })).rejects.toThrow(/options\.partsPerCycle .* got 2\.5/);
    await expect(simplifyInCycles(m, { ...base, partsPerCycle: () => -1 })).rejects.toThrow(
      /options\.partsPerCycle\(0\) must return an integer >= 1, got -1/,
    );
    await expect(simplifyInCycles(m, { ...base, simplifyCycle: true as unknown as (c: number) => boolean })).rejects.toThrow(
      /options\.simplifyCycle must be a function \(cycle\) => boolean, got true/,
    );
    await expect(simplifyInCycles(m, { ...base, simplifyCycle: () => true, simplifyLast: false })).rejects.toThrow(
      /give options\.simplifyCycle or options\.simplifyLast, not both \(simplifyLast is false\)/,
    );
    await expect(simplifyInCycles(m, { ...base, minUnits: 3, maxUnits: 2 })).rejects.toThrow(
      /options\.maxUnits must be an integer >= minUnits \(3\) or a function \(cycle, part\) => number, got 2/,
    );
    const { x, y } = data(32, 5);
    const train = async (model: tf.LayersModel) => {
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    };
    await expect(simplifyInCycles(m, { ...base, train, maxUnits: () => 0.5 })).rejects.toThrow(
      /options\.maxUnits\(0, 0\) must be an integer >= minUnits \(1\) or undefined, got 0\.5/,
    );
    tf.dispose([x, y]);
    m.dispose();
  });
});
