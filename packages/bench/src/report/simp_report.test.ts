import { sampleResult } from '../test-helpers/sample_results';
import { tempDir, removeTempDirs } from '../test-helpers/idx_fixtures';
import { readResultJson } from '../results/json_io';
import { metricsOf } from '../results/metrics';
import type { BenchResult } from '../results/schema';
import { validateBenchResult } from '../results/validate';
import { chartSpecs } from './chart_specs';
import { resultSections } from './result_tables';
import { writeReport } from './write_report';
import * as fs from 'fs';

function simpResult(): BenchResult {
  const doc = sampleResult('simp');
  delete doc.mnist;
  delete doc.kSweep;
  delete doc.kernels;
  delete doc.iaf;
  delete doc.ci;
  doc.simp = {
    hidden: 500,
    k: 160,
    mode: 'per-example',
    threshold: 0.1,
    minUnits: 10,
    cycles: 2,
    epochsPerCycle: 3,
    lastCycleEpochs: 3,
    runs: [
      {
        seed: 1,
        cycles: [
          { cycle: 1, epochs: 3, units: [180, 150], testAccuracy: 0.95, plainAccuracy: 0.96 },
          { cycle: 2, epochs: 6, units: [180, 150], testAccuracy: 0.97, plainAccuracy: 0.965 },
        ],
        units: [180, 150],
        simplifiedAccuracy: 0.97,
        plainAccuracy: 0.965,
        reducedAccuracy: 0.955,
      },
    ],
    mean: { units: [180, 150], simplifiedAccuracy: 0.97, plainAccuracy: 0.965, reducedAccuracy: 0.955 },
    inference: [
      { backend: 'wasm', batch: 1, originalMs: 0.5, simplifiedMs: 0.25, speedup: 2 },
      { backend: 'wasm', batch: 256, originalMs: 30, simplifiedMs: 8, speedup: 3.75 },
    ],
  };
  return doc;
}

describe('simp report', () => {
  afterAll(removeTempDirs);

  it('tables show units and accuracies per cycle, the baselines and the inference speed-up', () => {
    const sections = resultSections(simpResult());
    const s = sections.find((x) => x.heading.startsWith('meSimp'));
    expect(s).toBeDefined();
    expect(s!.intro).toContain('180-150 units, test accuracy 97.00%');
    expect(s!.tables[0].rows).toEqual([
      ['1', '1', '3', '180-150', '95.00%', '96.00%'],
      ['1', '2', '6', '180-150', '97.00%', '96.50%'],
    ]);
    expect(s!.tables[1].rows[0]).toEqual(['1', '180-150', '97.00%', '96.50%', '95.50%']);
    expect(s!.tables[2].rows[1]).toEqual(['wasm', '256', '30.00', '8.00', '3.75x']);
  });

  it('metrics name the accuracies, units and speed-ups for compare', () => {
    const m = new Map(metricsOf(simpResult()).map((x) => [x.name, x]));
    expect(m.get('simp.simplified.testAccuracy')?.value).toBe(0.97);
    expect(m.get('simp.hidden2.units')).toMatchObject({ value: 150, better: 'lower' });
    expect(m.get('simp.inference.wasm.batch256.speedup')).toMatchObject({ value: 3.75, better: 'higher' });
  });

  it('writes JSON that validates and reads back, and two charts', async () => {
    const doc = simpResult();
    expect(chartSpecs(doc).map((c) => c.name)).toEqual(['simp-units', 'simp-accuracy']);
    const dir = tempDir();
    const written = await writeReport(doc, dir);
    expect(readResultJson(written.json)).toEqual(doc);
    expect(written.svgs.length).toBe(2);
    expect(fs.readFileSync(written.markdown, 'utf8')).toContain('meSimp: training in cycles');
    const bad = JSON.parse(JSON.stringify(doc)) as { simp: { runs: Array<{ units: unknown }> } };
    bad.simp.runs[0].units = 'x';
    expect(() => validateBenchResult(bad, 'bad.json')).toThrow(/simp\.runs\[0\]\.units: expected an array/);
  });
});
