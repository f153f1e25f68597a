import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { mePropify, sparseAdam } from '../index';
import { trackActiveness } from './activeness';
import { meSimplifyWithPlan } from './me_simplify';
import { simplifiedOptimizerState } from './optimizer_state';
import { simplifyInCycles } from './simplify_cycles';
import { signPatternData, SMALL_MLP_IN, smallMlp } from '../test-helpers/small_mlp';

const IN = SMALL_MLP_IN;
const mlp = smallMlp;
const data = signPatternData;

describeEachBackend('training in cycles', () => {
  test.each([
    ['tf.train.adam', () => tf.train.adam(0.01)],
    ['sparseAdam', () => sparseAdam(0.01)],
  ] as const)('optimizer state (%s) is cut like the weights and renamed after the new variables', async (_name, makeOpt) => {
    const { model } = mePropify(mlp(), { k: 4 });
    const tracker = trackActiveness(model);
    const opt = makeOpt();
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const { x, y } = data(64, 1);
    await model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
    const activeness = await tracker.read();
    const { model: simple, report, plan } = await meSimplifyWithPlan(model, { threshold: 0.2, minUnits: 2, activeness });
    expect(report.h1.after).toBeLessThan(24);
    const before = await opt.getWeights();
    const state = await simplifiedOptimizerState(opt, model, simple, plan);
    expect(state).not.toBeNull();
    const s = state!;
    expect(s.length).toBe(before.length);
    expect(s[0].tensor.dataSync()[0]).toBe(4); // 4 steps taken
    const oldNames = model.weights.map((w) => w.name);
    const newNames = simple.weights.map((w) => w.name);
    for (let i = 1; i < s.length; i++) {
      // Which weight, and the slot's suffix ('' for tfjs's optimizers, '/m' or '/v' for ours).
      const w = oldNames.findIndex((n) => before[i].name === n || before[i].name.startsWith(`${n}/`));
      expect(w).toBeGreaterThanOrEqual(0);
      expect(s[i].name).toBe(newNames[w] + before[i].name.slice(oldNames[w].length));
      expect(s[i].tensor.shape).toEqual(simple.weights[w].shape);
      // The slot's entries for the kept units, by a host-side gather.
      const layer = ['h1', 'h1', 'h2', 'h2', 'out', 'out'][w];
      const prev = { h1: null, h2: 'h1', out: 'h2' }[layer];
      const cols = plan.outKept.get(layer) ?? null;
      const rows = prev === null ? null : (plan.inKept.get(layer) ?? null);
      const old = before[i].tensor.arraySync() as number[] | number[][];
      const expected =
        w % 2 === 0
          ? (rows ?? (old as number[][]).map((_, r) => r)).map((r) =>
              (cols ?? (old as number[][])[r].map((_, c) => c)).map((c) => (old as number[][])[r][c]),
            )
          : (cols ?? (old as number[]).map((_, c) => c)).map((c) => (old as number[])[c]);
      expect(s[i].tensor.arraySync()).toEqual(expected);
    }
    // A fresh optimizer takes the state and trains the smaller model.
    const fresh = makeOpt();
    await fresh.setWeights(s);
    simple.compile({ optimizer: fresh, loss: 'categoricalCrossentropy' });
    const h = await simple.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
    expect(Number.isFinite(h.history.loss[0] as number)).toBe(true);
    tf.dispose([x, y]);
    tracker.dispose();
  });

  test('cycles shrink the hidden layers, keep a working plain model, carry the optimizer state and free every tensor', async () => {
    const original = mlp(32);
    const { x, y } = data(256, 2);
    const start = tf.memory().numTensors;
    const seen: Array<{ units: { [name: string]: number }; kept: boolean; acc: number; classes: string[] }> = [];
    const asked: number[] = [];
    const { model, cycles } = await simplifyInCycles(original, {
      // Per cycle; the last one with k >= the widths: exact gradients.
      mePropify: (cycle) => {
        asked.push(cycle);
        return { k: cycle === 2 ? 64 : 4, mode: 'per-example' };
      },
      threshold: 0.1,
      minUnits: 4,
      cycles: 3,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m) => {
        await m.fit(x, y, { epochs: 4, batchSize: 32, verbose: 0 });
      },
      onCycleEnd: ({ model: m, units, optimizerStateKept }) => {
        const acc = tf.tidy(
          () => tf.mean(tf.cast(tf.equal(tf.argMax(m.predict(x) as tf.Tensor, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0],
        );
        seen.push({ units, kept: optimizerStateKept, acc, classes: m.layers.map((l) => l.getClassName()) });
      },
    });
    expect(cycles.map((c) => c.cycle)).toEqual([0, 1, 2]);
    expect(asked).toEqual([0, 1, 2]);
    expect(seen.map((s) => s.kept)).toEqual([true, true, false]);
    for (const s of seen) expect(s.classes).toEqual(['Dense', 'Dropout', 'Dense', 'Dense']);
    const h1 = seen.map((s) => s.units.h1);
    expect(h1[0]).toBeLessThan(32);
    for (let i = 1; i < h1.length; i++) expect(h1[i]).toBeLessThanOrEqual(h1[i - 1]);
    expect(model.getWeights()[0].shape).toEqual([IN, seen[2].units.h1]);
    expect(model.getWeights()[2].shape).toEqual([seen[2].units.h1, seen[2].units.h2]);
    // Learned something: well above the 1/3 of chance (the classes are not balanced: > 50% for the majority).
    expect(seen[2].acc).toBeGreaterThan(0.8);
    // The original is untouched and the only new tensors are the final model's weights.
    expect(original.getWeights()[0].shape).toEqual([IN, 32]);
    expect(tf.memory().numTensors).toBe(start + model.weights.length);
    model.dispose();
    tf.dispose([x, y]);
  });

  test('bad options: errors name the option', async () => {
    const base = {
      mePropify: { k: 4 },
      threshold: 0.1,
      cycles: 2,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: async () => undefined,
    };
    const m = mlp();
    await expect(simplifyInCycles(m, { ...base, cycles: 0 })).rejects.toThrow(/options\.cycles must be an integer >= 1, got 0/);
    await expect(simplifyInCycles(m, { ...base, threshold: 1 })).rejects.toThrow(
      /options\.threshold must be a number in \[0, 1\), got 1/,
    );
    await expect(simplifyInCycles(m, { ...base, minUnits: 0 })).rejects.toThrow(/options\.minUnits must be an integer >= 1/);
    await expect(
      simplifyInCycles(m, { ...base, optimizer: tf.train.adam(0.1) as unknown as () => tf.Optimizer }),
    ).rejects.toThrow(/options\.optimizer must be a function/);
    await expect(simplifyInCycles(m, { ...base, epochs: 3 } as unknown as typeof base)).rejects.toThrow(
      /options\.epochs is not an option/,
    );
    // A train function that never trains: the model has no activeness.
    await expect(simplifyInCycles(m, base)).rejects.toThrow(/has no activeness/);
    m.dispose();
  });
});
