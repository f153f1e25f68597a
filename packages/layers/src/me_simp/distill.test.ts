// simplifyInCycles' self-distillation: which model teaches after each cut, and the targets it gives, against a
// forward pass written in plain JavaScript from the weights the model had just before the cut.
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { distillationTargets, simplifyInCycles, type SimplifyCyclesOptions, type TrainHelpers } from './simplify_cycles';
import { signPatternData, smallMlp } from '../test-helpers/small_mlp';

type Matrix = number[][];

/** The small MLP's weights [h1 kernel, h1 bias, h2 kernel, h2 bias, out kernel, out bias] as arrays. */
function weightsOf(m: tf.LayersModel): Array<Matrix | number[]> {
  return m.getWeights().map((w) => w.arraySync() as Matrix | number[]);
}

function dense(x: Matrix, kernel: Matrix, bias: number[], relu: boolean): Matrix {
  return x.map((row) =>
    bias.map((b, j) => {
      const v = row.reduce((s, xi, i) => s + xi * kernel[i][j], b);
      return relu ? Math.max(0, v) : v;
    }),
  );
}

/** Inference forward of the small MLP (dropout is off at inference), then the distillation targets. */
function referenceTargets(w: Array<Matrix | number[]>, x: Matrix, y: Matrix, weight: number, temperature: number): Matrix {
  const h1 = dense(x, w[0] as Matrix, w[1] as number[], true);
  const h2 = dense(h1, w[2] as Matrix, w[3] as number[], true);
  const z = dense(h2, w[4] as Matrix, w[5] as number[], false);
  return z.map((logits, r) => {
    // softmax(log(softmax(z)) / T) = softmax(z / T)
    const max = Math.max(...logits);
    const e = logits.map((v) => Math.exp((v - max) / temperature));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v, c) => (1 - weight) * y[r][c] + (weight * v) / sum);
  });
}

function expectClose(actual: Matrix, expected: Matrix, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let r = 0; r < actual.length; r++)
    for (let c = 0; c < actual[r].length; c++) worst = Math.max(worst, Math.abs(actual[r][c] - expected[r][c]));
  expect(worst).toBeLessThan(tol);
}

interface Call {
  cycle: number;
  part: number;
  hadTeacher: boolean;
  teacherUnits: number | null;
  targets: Matrix;
  /** The model's weights after this part's training: the model just before this part's cut. */
  after: Array<Matrix | number[]>;
  units: number;
}

async function runDistill(
  teacher: 'last-cut' | 'first-cut' | undefined,
  weight: number,
  temperature: number,
): Promise<{ calls: Call[]; x: Matrix; y: Matrix; leaked: number }> {
  const original = smallMlp(16);
  const { x, y } = signPatternData(64, 5);
  const start = tf.memory().numTensors;
  const calls: Call[] = [];
  const caps = [13, 10, 7];
  const { model } = await simplifyInCycles(original, {
    mePropify: { k: 6 },
    threshold: 0,
    cycles: 2,
    // Cycle 0: three parts, each ending with a cut to the cap; cycle 1 trains the final size.
    partsPerCycle: (c) => (c === 0 ? 3 : 1),
    simplifyCycle: (c) => c === 0,
    maxUnits: (_c, p) => caps[p],
    optimizer: () => tf.train.adam(0.02),
    compile: { loss: 'categoricalCrossentropy' },
    distill: { weight, temperature, ...(teacher !== undefined ? { teacher } : {}) },
    train: async (m: tf.LayersModel, cycle: number, part: number, helpers: TrainHelpers) => {
      const t = helpers.targets(x, y);
      const targets = t.arraySync() as Matrix;
      await m.fit(x, t, { epochs: 2, batchSize: 16, verbose: 0 });
      t.dispose();
      calls.push({
        cycle,
        part,
        hadTeacher: helpers.teacher !== null,
        teacherUnits: helpers.teacher === null ? null : (helpers.teacher.getWeights()[0].shape[1] ?? null),
        targets,
        after: weightsOf(m),
        units: m.getWeights()[0].shape[1] ?? 0,
      });
    },
  });
  const leaked = tf.memory().numTensors - start - model.weights.length;
  const out = { calls, x: x.arraySync(), y: y.arraySync(), leaked };
  model.dispose();
  original.dispose();
  tf.dispose([x, y]);
  return out;
}

describeEachBackend('simplifyInCycles: self-distillation', () => {
  test("'last-cut' (default): the model just before the latest cut teaches, targets as computed by hand", async () => {
    const { calls, x, y, leaked } = await runDistill(undefined, 0.3, 2);
    expect(calls.map((c) => [c.cycle, c.part, c.units])).toEqual([
      [0, 0, 16],
      [0, 1, 13],
      [0, 2, 10],
      [1, 0, 7],
    ]);
    // Before the first cut: no teacher, the labels themselves.
    expect(calls[0].hadTeacher).toBe(false);
    expect(calls[0].targets).toEqual(y);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].hadTeacher).toBe(true);
      // The teacher is the previous part's model (the one just before the cut), full width.
      expect(calls[i].teacherUnits).toBe(calls[i - 1].units);
      expectClose(calls[i].targets, referenceTargets(calls[i - 1].after, x, y, 0.3, 2), 1e-5);
    }
    expect(leaked).toBe(0);
  });

  test("'first-cut': the widest trained model teaches to the end; temperature 1 mixes its probabilities", async () => {
    const { calls, x, y, leaked } = await runDistill('first-cut', 0.8, 1);
    expect(calls[0].hadTeacher).toBe(false);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].teacherUnits).toBe(16);
      expectClose(calls[i].targets, referenceTargets(calls[0].after, x, y, 0.8, 1), 1e-5);
    }
    // Not the latest pre-cut model: the reference from it differs.
    const latest = referenceTargets(calls[2].after, x, y, 0.8, 1);
    const diff = Math.max(...calls[3].targets.flatMap((row, r) => row.map((v, c) => Math.abs(v - latest[r][c]))));
    expect(diff).toBeGreaterThan(1e-3);
    expect(leaked).toBe(0);
  });

  test('without options.distill: no teacher, targets are a copy of y', async () => {
    const original = smallMlp(8);
    const { x, y } = signPatternData(32, 6);
    const seen: boolean[] = [];
    const { model } = await simplifyInCycles(original, {
      mePropify: { k: 4 },
      threshold: 0,
      maxUnits: 5,
      cycles: 2,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: async (m, _c, _p, helpers) => {
        const t = helpers.targets(x, y);
        expect(t).not.toBe(y);
        expect(t.arraySync()).toEqual(y.arraySync());
        t.dispose();
        seen.push(helpers.teacher === null);
        await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
      },
    });
    expect(seen).toEqual([true, true]);
    tf.dispose([x, y]);
    model.dispose();
    original.dispose();
  });

  test('bad options.distill and a model without a softmax output: errors name the argument', async () => {
    const base: SimplifyCyclesOptions = {
      mePropify: { k: 4 },
      threshold: 0.1,
      cycles: 2,
      optimizer: () => tf.train.adam(0.01),
      compile: { loss: 'categoricalCrossentropy' },
      train: async () => undefined,
    };
    const m = smallMlp(8);
    const bad = (distill: unknown) => simplifyInCycles(m, { ...base, distill } as SimplifyCyclesOptions);
    await expect(bad({ weight: 0 })).rejects.toThrow(/options\.distill\.weight must be a number in \(0, 1\], got 0/);
    await expect(bad({ weight: 1.5 })).rejects.toThrow(/options\.distill\.weight must be a number in \(0, 1\], got 1\.5/);
    await expect(bad({ weight: 0.5, temperature: 0 })).rejects.toThrow(
      /options\.distill\.temperature must be a number > 0, got 0/,
    );
    await expect(bad({ weight: 0.5, teacher: 'best' })).rejects.toThrow(
      /options\.distill\.teacher must be 'last-cut' or 'first-cut', got 'best'/,
    );
    await expect(bad({ weight: 0.5, alpha: 1 })).rejects.toThrow(/options\.distill\.alpha is not an option/);
    await expect(bad(3)).rejects.toThrow(/options\.distill must be an object/);
    const linear = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 6, activation: 'relu', name: 'h' }),
        tf.layers.dense({ units: 2, name: 'logits' }),
      ],
    });
    await expect(simplifyInCycles(linear, { ...base, distill: { weight: 0.5 } })).rejects.toThrow(
      /options\.distill needs a model whose output layer ends in a softmax; layer 'logits' has activation 'linear'/,
    );
    m.dispose();
    linear.dispose();
  });

  test('distillationTargets on any softmax model: the hand-computed mix, no tensor left, clear errors', () => {
    const teacher = smallMlp(6);
    const { x, y } = signPatternData(20, 8);
    const start = tf.memory().numTensors;
    const t = distillationTargets(teacher, { weight: 0.6, temperature: 3 }, x, y, 7);
    expect(tf.memory().numTensors).toBe(start + 1);
    expectClose(t.arraySync() as Matrix, referenceTargets(weightsOf(teacher), x.arraySync(), y.arraySync(), 0.6, 3), 1e-5);
    t.dispose();
    const copy = distillationTargets(null, { weight: 0.6 }, x, y);
    expect(copy.arraySync()).toEqual(y.arraySync());
    copy.dispose();
    expect(() => distillationTargets(teacher, { weight: 2 }, x, y)).toThrow(
      /distillationTargets: options\.weight must be a number in \(0, 1\], got 2/,
    );
    const y4 = tf.zeros([20, 4]);
    expect(() => distillationTargets(teacher, { weight: 0.5 }, x, y4)).toThrow(
      /distillationTargets: y has shape \[20, 4\], the teacher's output for x \[20, 3\]/,
    );
    expect(tf.memory().numTensors).toBe(start + 1);
    tf.dispose([x, y, y4]);
    teacher.dispose();
  });
});
