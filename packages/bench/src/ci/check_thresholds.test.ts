import * as fs from 'fs';
import type { Metric } from '../results/schema';
import { CI_SETTINGS, convFigureId } from '../experiments/ci_run';
import { checkThresholds, describeFailures } from './check_thresholds';
import { defaultThresholdsPath, parseThresholds, readThresholds, thresholdsFor } from './thresholds';

const fig = (name: string, value: number, better: Metric['better'] = 'higher'): Metric => ({ name, value, better, unit: 'x' });

describe('checkThresholds', () => {
  const thresholds = {
    minSpeedup: { 'kernels.a.speedup': 4 },
    minAccuracy: { 'mnist.meprop.testAccuracy': 0.8 },
    maxAccuracyGap: { 'mnist.accuracyGap': 0.03 },
  };

  it('passes when every figure is on the right side', () => {
    const checks = checkThresholds(
      [fig('kernels.a.speedup', 6), fig('mnist.meprop.testAccuracy', 0.9), fig('mnist.accuracyGap', 0.01, 'lower')],
      thresholds,
    );
    expect(checks).toHaveLength(3);
    expect(checks.every((c) => c.pass)).toBe(true);
    expect(describeFailures(checks)).toEqual([]);
  });

  it('fails a ratio below its minimum, naming the figure', () => {
    const checks = checkThresholds(
      [fig('kernels.a.speedup', 3.1), fig('mnist.meprop.testAccuracy', 0.9), fig('mnist.accuracyGap', 0.05, 'lower')],
      thresholds,
    );
    const failures = describeFailures(checks);
    expect(failures).toEqual([
      'kernels.a.speedup = 3.100 is below the minimum 4',
      'mnist.accuracyGap = 0.05000 is above the maximum 0.03',
    ]);
  });

  it('fails a figure that was not measured', () => {
    const checks = checkThresholds([fig('kernels.a.speedup', 5)], { minAccuracy: { 'mnist.meprop.testAccuracy': 0.8 } });
    expect(checks[0].pass).toBe(false);
    expect(describeFailures(checks)[0]).toMatch(/mnist\.meprop\.testAccuracy: not measured/);
  });
});

describe('thresholds file', () => {
  it('the shipped ci.json parses and covers cpu and wasm', () => {
    const file = readThresholds(defaultThresholdsPath());
    for (const b of ['cpu', 'wasm'] as const) {
      const t = thresholdsFor(file, b, 'ci.json');
      expect(Object.keys(t.minSpeedup ?? {}).length).toBeGreaterThan(0);
      expect(Object.keys(t.minAccuracy ?? {}).length).toBeGreaterThan(0);
      expect(Object.keys(t.maxAccuracyGap ?? {}).length).toBeGreaterThan(0);
    }
    expect(fs.existsSync(defaultThresholdsPath())).toBe(true);
  });

  it("bounds the conv figure exactly on the backends whose ci run measures it (a bound elsewhere fails as 'not measured')", () => {
    const file = readThresholds(defaultThresholdsPath());
    const id = `${convFigureId()}.backwardSpeedup`;
    expect(id).toBe('conv.32x28x28x32-64.3x3.k8.unified.backwardSpeedup');
    for (const b of ['cpu', 'wasm', 'tensorflow'] as const) {
      const bounded = id in (thresholdsFor(file, b, 'ci.json').minSpeedup ?? {});
      expect([b, bounded]).toEqual([b, CI_SETTINGS.conv.backends.includes(b)]);
    }
  });

  it('rejects unknown groups and non-numeric bounds, naming the place', () => {
    expect(() => parseThresholds({ schemaVersion: 1, backends: { cpu: { minSpeed: {} } } }, 't.json')).toThrow(
      /t\.json: backends\.cpu\.minSpeed: unknown group/,
    );
    expect(() => parseThresholds({ schemaVersion: 1, backends: { cpu: { minSpeedup: { a: 'x' } } } }, 't.json')).toThrow(
      /backends\.cpu\.minSpeedup\.a: expected a finite number/,
    );
    expect(() => parseThresholds({ schemaVersion: 2, backends: {} }, 't.json')).toThrow(/schemaVersion: expected 1, got 2/);
    expect(() => thresholdsFor({ schemaVersion: 1, backends: {} }, 'wasm', 't.json')).toThrow(/no thresholds for backend 'wasm'/);
  });
});
