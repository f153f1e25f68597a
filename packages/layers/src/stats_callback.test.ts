import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { MePropEpochStats, mePropify, MePropStatsCallback } from './index';
import { mlp, oneHotLabels } from './test-helpers/models';

describeEachBackend('MePropStatsCallback', () => {
  test('logs the kept fraction and saved multiply-adds per epoch, and adds them to logs', async () => {
    const { model } = mePropify(mlp([20, 40, 40, 5]), { k: 4 });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const lines: string[] = [];
    const seen: MePropEpochStats[] = [];
    const history = await model.fit(tf.randomUniform([16, 20]), oneHotLabels(16, 5, 1), {
      epochs: 2,
      batchSize: 8,
      verbose: 0,
      callbacks: [new MePropStatsCallback({ logger: (line, s) => (lines.push(line), seen.push(s)) })],
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^meProp epoch 1: kept 10\.00% of output gradients, saved .*M backward multiply-adds \(90\.0%\) in 4 matmul backwards$/,
    );
    // 2 batches x 2 hidden layers, k/width = 4/40.
    expect(seen[1]).toEqual({
      mePropKeptFraction: 0.1,
      mePropMacsSaved: 2 * (2 * 8 * 20 * 36 + 2 * 8 * 40 * 36),
      mePropBackwardCalls: 4,
    });
    expect(history.history.mePropKeptFraction).toEqual([0.1, 0.1]);
    expect(history.history.mePropBackwardCalls).toEqual([4, 4]);
  });

  test('bad options throw', () => {
    expect(() => new MePropStatsCallback({ logger: 3 as unknown as null })).toThrow(
      /options\.logger must be a function or null, got number/,
    );
  });
});
