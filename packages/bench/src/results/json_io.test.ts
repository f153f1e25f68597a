import * as path from 'path';
import { sampleResult } from '../test-helpers/sample_results';
import { tempDir, removeTempDirs } from '../test-helpers/idx_fixtures';
import { readResultJson, writeResultJson } from './json_io';
import { metricsOf } from './metrics';
import { SCHEMA_VERSION } from './schema';
import { collectEnvironment } from './environment';

describe('result JSON', () => {
  it('round-trips every section through the validator', () => {
    const file = path.join(tempDir(), 'nested', 'r.json');
    const doc = sampleResult();
    writeResultJson(file, doc);
    const back = readResultJson(file);
    expect(back).toEqual(doc);
    expect(back.schemaVersion).toBe(SCHEMA_VERSION);
  });

  it('writes a diverged (NaN) ELBO as null and still reads it', () => {
    const file = path.join(tempDir(), 'nan.json');
    const doc = sampleResult();
    doc.iaf!.runs[0].testElbo = NaN;
    doc.iaf!.runs[0].trainElboCurve = [NaN, -120];
    writeResultJson(file, doc);
    const back = readResultJson(file);
    expect(back.iaf!.runs[0].testElbo).toBeNull();
    expect(metricsOf(back).some((m) => m.name === 'iaf.diagonal.testElbo')).toBe(false);
  });

  it('flattens figures to directed metrics', () => {
    const m = new Map(metricsOf(sampleResult()).map((x) => [x.name, x]));
    expect(m.get('mnist.adam.plain.testAccuracy')?.better).toBe('higher');
    expect(m.get('mnist.adam.unified.k20.backwardMs')?.better).toBe('lower');
    expect(m.get('kernels.32x500x500.k20.per-example.speedup')?.value).toBe(10);
    expect(m.get('k-sweep.random-k.k50.testAccuracy')?.value).toBeCloseTo(0.75);
    expect(m.get('ci.mnist.accuracyGap')?.better).toBe('lower');
  });

  it('records the environment', () => {
    const env = collectEnvironment('wasm', '4.22.0', new Date('2026-02-03T04:05:06Z'));
    expect(env).toMatchObject({
      backend: 'wasm',
      tfjsVersion: '4.22.0',
      nodeVersion: process.version,
      date: '2026-02-03T04:05:06.000Z',
    });
    expect(env.cpuModel.length).toBeGreaterThan(0);
  });
});

afterAll(() => removeTempDirs());
