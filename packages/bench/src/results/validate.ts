// Structural validation of a result document read from disk: every error names the file and the JSON path.
import { BACKEND_NAMES, BENCH_COMMANDS, KERNEL_PATHS, SCHEMA_VERSION, TOOL_NAME, type BenchResult } from './schema';

export class SchemaError extends Error {
  constructor(source: string, where: string, problem: string) {
    super(`${source}: ${where ? `${where}: ` : ''}${problem}`);
    this.name = 'SchemaError';
  }
}

type Obj = Record<string, unknown>;

class Checker {
  constructor(private readonly source: string) {}

  fail(where: string, problem: string): never {
    throw new SchemaError(this.source, where, problem);
  }

  obj(where: string, v: unknown): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, `expected an object, got ${describe(v)}`);
    return v as Obj;
  }

  arr(where: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(where, `expected an array, got ${describe(v)}`);
    return v;
  }

  num(where: string, v: unknown): number {
    if (typeof v !== 'number' || Number.isNaN(v)) this.fail(where, `expected a number, got ${describe(v)}`);
    return v;
  }

  numOrNull(where: string, v: unknown): void {
    if (v !== null) this.num(where, v);
  }

  str(where: string, v: unknown): string {
    if (typeof v !== 'string') this.fail(where, `expected a string, got ${describe(v)}`);
    return v;
  }

  oneOf(where: string, v: unknown, allowed: readonly string[]): void {
    if (typeof v !== 'string' || !allowed.includes(v)) {
      this.fail(where, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
    }
  }

  fields(where: string, o: Obj, spec: Record<string, 'num' | 'numOrNull' | 'str' | 'numArr'>): void {
    for (const [key, kind] of Object.entries(spec)) {
      const w = `${where}.${key}`;
      if (kind === 'num') this.num(w, o[key]);
      else if (kind === 'numOrNull') this.numOrNull(w, o[key]);
      else if (kind === 'str') this.str(w, o[key]);
      // Curves may hold null: JSON has no NaN, so a diverged value is written as null.
      else this.arr(w, o[key]).forEach((x, i) => this.numOrNull(`${w}[${i}]`, x));
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}...` : v}'`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Checks `value` is a result document of this schema version; `source` (a file name) prefixes every error. */
export function validateBenchResult(value: unknown, source: string): BenchResult {
  const c = new Checker(source);
  const doc = c.obj('', value);
  if (!('schemaVersion' in doc)) {
    c.fail('', `not a meprop-bench result (no schemaVersion field)`);
  }
  if (doc.schemaVersion !== SCHEMA_VERSION) {
    c.fail('schemaVersion', `version ${describe(doc.schemaVersion)} is not supported, expected ${SCHEMA_VERSION}`);
  }
  if (doc.tool !== TOOL_NAME) c.fail('tool', `expected '${TOOL_NAME}', got ${describe(doc.tool)}`);
  c.oneOf('command', doc.command, BENCH_COMMANDS);

  const config = c.obj('config', doc.config);
  c.fields('config', config, { seed: 'num', epochs: 'num', batchSize: 'num', dataSource: 'str' });
  if (typeof config.quick !== 'boolean') c.fail('config.quick', `expected a boolean, got ${describe(config.quick)}`);
  c.obj('config.options', config.options);

  const env = c.obj('environment', doc.environment);
  c.oneOf('environment.backend', env.backend, BACKEND_NAMES);
  c.fields('environment', env, { tfjsVersion: 'str', nodeVersion: 'str', cpuModel: 'str', cpuCount: 'num', date: 'str' });

  if (doc.mnist !== undefined) {
    const m = c.obj('mnist', doc.mnist);
    c.fields('mnist', m, { hidden: 'numArr' });
    if (m.protocol !== undefined) c.oneOf('mnist.protocol', m.protocol, ['quick', 'paper']);
    if (m.seeds !== undefined) c.num('mnist.seeds', m.seeds);
    c.arr('mnist.runs', m.runs).forEach((r, i) => {
      const w = `mnist.runs[${i}]`;
      const run = c.obj(w, r);
      c.oneOf(`${w}.optimizer`, run.optimizer, ['adam', 'adagrad']);
      c.oneOf(`${w}.method`, run.method, ['plain', 'per-example', 'unified', 'random']);
      c.fields(w, run, { k: 'numOrNull', learningRate: 'num', testAccuracy: 'num', accuracyCurve: 'numArr' });
      if (run.seedAccuracies !== undefined) c.fields(w, run, { seedAccuracies: 'numArr' });
      const t = c.obj(`${w}.timing`, run.timing);
      c.fields(`${w}.timing`, t, {
        forwardMs: 'num',
        backwardMs: 'num',
        updateMs: 'num',
        stepMs: 'num',
        trainSeconds: 'num',
        steps: 'num',
        timedSteps: 'num',
      });
      if (run.speedup !== null) {
        const s = c.obj(`${w}.speedup`, run.speedup);
        c.fields(`${w}.speedup`, s, {
          forward: 'numOrNull',
          backward: 'numOrNull',
          update: 'numOrNull',
          step: 'numOrNull',
          train: 'numOrNull',
        });
      }
    });
  }
  if (doc.kSweep !== undefined) {
    const k = c.obj('kSweep', doc.kSweep);
    c.fields('kSweep', k, { hidden: 'num', baselineAccuracy: 'num' });
    c.arr('kSweep.points', k.points).forEach((p, i) => {
      const w = `kSweep.points[${i}]`;
      const pt = c.obj(w, p);
      c.oneOf(`${w}.selection`, pt.selection, ['top-k', 'random-k']);
      c.fields(w, pt, { k: 'num', keptFraction: 'num', testAccuracy: 'num' });
    });
  }
  if (doc.kernels !== undefined) {
    const k = c.obj('kernels', doc.kernels);
    c.str('kernels.method', k.method);
    c.arr('kernels.cases', k.cases).forEach((x, i) => {
      const w = `kernels.cases[${i}]`;
      const kc = c.obj(w, x);
      c.oneOf(`${w}.mode`, kc.mode, ['per-example', 'unified', 'random']);
      if (kc.path !== undefined) c.oneOf(`${w}.path`, kc.path, KERNEL_PATHS);
      c.fields(w, kc, {
        label: 'str',
        group: 'str',
        batch: 'num',
        inDim: 'num',
        outDim: 'num',
        k: 'num',
        plainMs: 'num',
        mePropMs: 'num',
        speedup: 'numOrNull',
        idealSpeedup: 'num',
        reps: 'num',
      });
    });
  }
  if (doc.iaf !== undefined) {
    const f = c.obj('iaf', doc.iaf);
    c.arr('iaf.runs', f.runs).forEach((x, i) => {
      const w = `iaf.runs[${i}]`;
      const r = c.obj(w, x);
      c.oneOf(`${w}.posterior`, r.posterior, ['diagonal', 'iaf2', 'iaf4']);
      c.fields(w, r, {
        testElbo: 'numOrNull',
        testIwLogLik: 'numOrNull',
        iwSamples: 'num',
        secondsPerEpoch: 'num',
        trainElboCurve: 'numArr',
        testElboCurve: 'numArr',
      });
    });
  }
  if (doc.simp !== undefined) {
    const f = c.obj('simp', doc.simp);
    c.fields('simp', f, {
      hidden: 'num',
      k: 'num',
      mode: 'str',
      threshold: 'num',
      minUnits: 'num',
      cycles: 'num',
      epochsPerCycle: 'num',
      lastCycleEpochs: 'num',
    });
    const m = c.obj('simp.mean', f.mean);
    c.fields('simp.mean', m, { units: 'numArr', simplifiedAccuracy: 'num', plainAccuracy: 'num', reducedAccuracy: 'num' });
    c.arr('simp.runs', f.runs).forEach((x, i) => {
      const w = `simp.runs[${i}]`;
      const run = c.obj(w, x);
      c.fields(w, run, { seed: 'num', units: 'numArr', simplifiedAccuracy: 'num', plainAccuracy: 'num', reducedAccuracy: 'num' });
      c.arr(`${w}.cycles`, run.cycles).forEach((y, j) => {
        c.fields(`${w}.cycles[${j}]`, c.obj(`${w}.cycles[${j}]`, y), {
          cycle: 'num',
          epochs: 'num',
          units: 'numArr',
          testAccuracy: 'num',
          plainAccuracy: 'num',
        });
      });
    });
    c.arr('simp.inference', f.inference).forEach((x, i) => {
      c.fields(`simp.inference[${i}]`, c.obj(`simp.inference[${i}]`, x), {
        backend: 'str',
        batch: 'num',
        originalMs: 'num',
        simplifiedMs: 'num',
        speedup: 'numOrNull',
      });
    });
  }
  if (doc.model !== undefined) {
    const m = c.obj('model', doc.model);
    c.fields('model', m, {
      source: 'str',
      name: 'str',
      parameters: 'num',
      loss: 'str',
      data: 'str',
      forwardMaxAbsDiff: 'num',
      forwardTolerance: 'num',
    });
    c.numOrNull('model.minSpeedup', m.minSpeedup);
    c.numOrNull('model.measuredKeptFraction', m.measuredKeptFraction);
    if (typeof m.passed !== 'boolean') c.fail('model.passed', `expected a boolean, got ${describe(m.passed)}`);
    c.arr('model.layers', m.layers).forEach((x, i) => {
      const w = `model.layers[${i}]`;
      const l = c.obj(w, x);
      c.fields(w, l, { name: 'str', className: 'str', k: 'numOrNull', width: 'numOrNull', keptFraction: 'numOrNull' });
    });
    c.arr('model.optimizers', m.optimizers).forEach((x, i) => {
      const w = `model.optimizers[${i}]`;
      const o = c.obj(w, x);
      c.fields(w, o, {
        optimizer: 'str',
        learningRate: 'num',
        plainMs: 'numOrNull',
        mePropMs: 'numOrNull',
        mePropSparseMs: 'numOrNull',
        speedup: 'numOrNull',
        speedupDenseOptimizer: 'numOrNull',
        steps: 'num',
      });
    });
  }
  if (doc.ci !== undefined) {
    const ci = c.obj('ci', doc.ci);
    c.str('ci.thresholdsFile', ci.thresholdsFile);
    c.arr('ci.figures', ci.figures).forEach((x, i) => {
      const w = `ci.figures[${i}]`;
      const m = c.obj(w, x);
      c.fields(w, m, { name: 'str', value: 'num', unit: 'str' });
      c.oneOf(`${w}.better`, m.better, ['higher', 'lower']);
    });
    c.arr('ci.checks', ci.checks).forEach((x, i) => {
      const w = `ci.checks[${i}]`;
      const ch = c.obj(w, x);
      c.fields(w, ch, { figure: 'str', value: 'numOrNull', threshold: 'num' });
      c.oneOf(`${w}.comparison`, ch.comparison, ['min', 'max']);
    });
  }
  return doc as unknown as BenchResult;
}
