// The bridge to experiments/iaf, with that module replaced by a fake (no training here).
import type { MnistData } from '../data/types';
import { runIaf } from './iaf_runner';

const calls: unknown[] = [];
jest.mock('./iaf', () => ({
  runIafExperiment: async (_data: unknown, opts: unknown) => {
    calls.push(opts);
    return [
      {
        posterior: 'diagonal',
        testElbo: -100,
        testIwLogLik: -95,
        iwSamples: 8,
        secondsPerEpoch: 1,
        trainElboCurve: [-120],
        testElboCurve: [-110],
      },
      {
        posterior: 'iaf2',
        testElbo: -98,
        testIwLogLik: -94,
        iwSamples: 8,
        secondsPerEpoch: 2,
        trainElboCurve: [-118],
        testElboCurve: [-108],
      },
    ];
  },
}));

describe('runIaf', () => {
  it('passes the options through and returns the runs as the result schema has them', async () => {
    const data = { train: { n: 0 }, test: { n: 0 }, source: 'none' } as unknown as MnistData;
    const figures = await runIaf(data, { epochs: 2, seed: 3, posteriors: ['diagonal', 'iaf2'], quick: true });
    expect(calls).toEqual([{ epochs: 2, seed: 3, posteriors: ['diagonal', 'iaf2'], quick: true }]);
    expect(figures.runs.map((r) => r.posterior)).toEqual(['diagonal', 'iaf2']);
    expect(figures.runs[1]).toEqual({
      posterior: 'iaf2',
      testElbo: -98,
      testIwLogLik: -94,
      iwSamples: 8,
      secondsPerEpoch: 2,
      trainElboCurve: [-118],
      testElboCurve: [-108],
    });
  });
});
