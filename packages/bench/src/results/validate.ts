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

  fields(where: string, o: Obj, spec: FieldSpec): void {
    for (const [key, kind] of Object.entries(spec)) {
      const w = `${where}.${key}`;
      if (kind === 'num') this.num(w, o[key]);
      else if (kind === 'numOrNull') this.numOrNull(w, o[key]);
      else if (kind === 'str') this.str(w, o[key]);
      // Curves may hold null: JSON has no NaN, so a diverged value is written as null.
      else if (kind === 'bool') {
        if (typeof o[key] !== 'boolean') this.fail(w, `expected a boolean, got ${describe(o[key])}`);
      } else this.arr(w, o[key]).forEach((x, i) => this.numOrNull(`${w}[${i}]`, x));
    }
  }

  /** The object at `where` with the `spec` fields; returns it for further checks. */
  section(where: string, v: unknown, spec: FieldSpec): Obj {
    const o = this.obj(where, v);
    this.fields(where, o, spec);
    return o;
  }

  /** Every element of the array at `where` is an object with the `spec` fields; `more` checks the rest of each. */
  rows(where: string, v: unknown, spec: FieldSpec, more?: (row: Obj, w: string) => void): void {
    this.arr(where, v).forEach((x, i) => {
      const w = `${where}[${i}]`;
      more?.(this.section(w, x, spec), w);
    });
  }
}

type FieldSpec = Record<string, 'num' | 'numOrNull' | 'str' | 'numArr' | 'bool'>;

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
  if (env.nativeOps !== undefined) c.str('environment.nativeOps', env.nativeOps);

  if (doc.mnist !== undefined) {
    const m = c.obj('mnist', doc.mnist);
    c.fields('mnist', m, { hidden: 'numArr' });
    if (m.protocol !== undefined) c.oneOf('mnist.protocol', m.protocol, ['quick', 'paper']);
    if (m.seeds !== undefined) c.num('mnist.seeds', m.seeds);
    c.rows(
      'mnist.runs',
      m.runs,
      { k: 'numOrNull', learningRate: 'num', testAccuracy: 'num', accuracyCurve: 'numArr' },
      (run, w) => {
        c.oneOf(`${w}.optimizer`, run.optimizer, ['adam', 'adagrad']);
        c.oneOf(`${w}.method`, run.method, ['plain', 'per-example', 'unified', 'random']);
        if (run.seedAccuracies !== undefined) c.fields(w, run, { seedAccuracies: 'numArr' });
        c.section(`${w}.timing`, run.timing, {
          forwardMs: 'num',
          backwardMs: 'num',
          updateMs: 'num',
          stepMs: 'num',
          trainSeconds: 'num',
          steps: 'num',
          timedSteps: 'num',
        });
        if (run.speedup !== null) {
          c.section(`${w}.speedup`, run.speedup, {
            forward: 'numOrNull',
            backward: 'numOrNull',
            update: 'numOrNull',
            step: 'numOrNull',
            train: 'numOrNull',
          });
        }
      },
    );
  }
  if (doc.kSweep !== undefined) {
    const k = c.section('kSweep', doc.kSweep, { hidden: 'num', baselineAccuracy: 'num' });
    c.rows('kSweep.points', k.points, { k: 'num', keptFraction: 'num', testAccuracy: 'num' }, (pt, w) =>
      c.oneOf(`${w}.selection`, pt.selection, ['top-k', 'random-k']),
    );
  }
  if (doc.kernels !== undefined) {
    const k = c.section('kernels', doc.kernels, { method: 'str' });
    c.rows(
      'kernels.cases',
      k.cases,
      {
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
      },
      (kc, w) => {
        c.oneOf(`${w}.mode`, kc.mode, ['per-example', 'unified', 'random']);
        if (kc.path !== undefined) c.oneOf(`${w}.path`, kc.path, KERNEL_PATHS);
      },
    );
  }
  if (doc.iaf !== undefined) {
    const f = c.obj('iaf', doc.iaf);
    c.rows(
      'iaf.runs',
      f.runs,
      {
        testElbo: 'numOrNull',
        testIwLogLik: 'numOrNull',
        iwSamples: 'num',
        secondsPerEpoch: 'num',
        trainElboCurve: 'numArr',
        testElboCurve: 'numArr',
      },
      (r, w) => c.oneOf(`${w}.posterior`, r.posterior, ['diagonal', 'iaf2', 'iaf4']),
    );
  }
  if (doc.simp !== undefined) {
    const f = c.section('simp', doc.simp, {
      hidden: 'num',
      k: 'num',
      mode: 'str',
      threshold: 'num',
      minUnits: 'num',
      cycles: 'num',
      epochsPerCycle: 'num',
      lastCycleEpochs: 'num',
    });
    const accuracies = { simplifiedAccuracy: 'num', plainAccuracy: 'num', reducedAccuracy: 'num' } as const;
    c.section('simp.mean', f.mean, { units: 'numArr', ...accuracies });
    c.rows('simp.runs', f.runs, { seed: 'num', units: 'numArr', ...accuracies }, (run, w) =>
      c.rows(`${w}.cycles`, run.cycles, {
        cycle: 'num',
        epochs: 'num',
        units: 'numArr',
        testAccuracy: 'num',
        plainAccuracy: 'num',
      }),
    );
    c.rows('simp.inference', f.inference, {
      backend: 'str',
      batch: 'num',
      originalMs: 'num',
      simplifiedMs: 'num',
      speedup: 'numOrNull',
    });
  }
  if (doc.model !== undefined) {
    const m = c.section('model', doc.model, {
      source: 'str',
      name: 'str',
      parameters: 'num',
      loss: 'str',
      data: 'str',
      forwardMaxAbsDiff: 'num',
      forwardTolerance: 'num',
      minSpeedup: 'numOrNull',
      measuredKeptFraction: 'numOrNull',
      passed: 'bool',
    });
    c.rows('model.layers', m.layers, {
      name: 'str',
      className: 'str',
      k: 'numOrNull',
      width: 'numOrNull',
      keptFraction: 'numOrNull',
    });
    c.rows('model.optimizers', m.optimizers, {
      optimizer: 'str',
      learningRate: 'num',
      plainMs: 'numOrNull',
      mePropMs: 'numOrNull',
      mePropSparseMs: 'numOrNull',
      speedup: 'numOrNull',
      speedupDenseOptimizer: 'numOrNull',
      steps: 'num',
    });
  }
  if (doc.variantTimings !== undefined) {
    const t = c.section('variantTimings', doc.variantTimings, { what: 'str' });
    c.rows(
      'variantTimings.rows',
      t.rows,
      {
        case: 'str',
        description: 'str',
        variant: 'str',
        wallMs: 'num',
        cpuMs: 'num',
        wallSpeedup: 'numOrNull',
        cpuSpeedup: 'numOrNull',
        reps: 'num',
      },
      (row, w) => {
        if (row.maxAbsDiff !== undefined) c.numOrNull(`${w}.maxAbsDiff`, row.maxAbsDiff);
      },
    );
  }
  if (doc.vaeExclude !== undefined) {
    const v = c.section('vaeExclude', doc.vaeExclude, { hidden: 'num', latent: 'num', k: 'num', mode: 'str' });
    c.rows('vaeExclude.rows', v.rows, {
      variant: 'str',
      description: 'str',
      testLoss: 'numOrNull',
      testLossCurve: 'numArr',
      trainSeconds: 'num',
      stepCpuMs: 'num',
      stepCpuSpeedup: 'numOrNull',
    });
  }
  if (doc.simpLstm !== undefined) {
    const f = c.section('simpLstm', doc.simpLstm, {
      task: 'str',
      k: 'num',
      threshold: 'num',
      cycles: 'num',
      epochsPerCycle: 'num',
    });
    c.rows('simpLstm.runs', f.runs, {
      seed: 'num',
      plainUnits: 'num',
      plainAccuracy: 'num',
      cycleUnits: 'numArr',
      cycleAccuracies: 'numArr',
      simplifiedUnits: 'num',
      simplifiedAccuracy: 'num',
      reducedAccuracy: 'num',
    });
  }
  if (doc.ci !== undefined) {
    const ci = c.section('ci', doc.ci, { thresholdsFile: 'str' });
    c.rows('ci.figures', ci.figures, { name: 'str', value: 'num', unit: 'str' }, (m, w) =>
      c.oneOf(`${w}.better`, m.better, ['higher', 'lower']),
    );
    c.rows('ci.checks', ci.checks, { figure: 'str', value: 'numOrNull', threshold: 'num' }, (ch, w) =>
      c.oneOf(`${w}.comparison`, ch.comparison, ['min', 'max']),
    );
  }
  return doc as unknown as BenchResult;
}
