// The browser side of the bench runner: bundled by run.mjs with esbuild and loaded into headless Chromium.
// It exposes entry points on `window` that run.mjs calls with page.evaluate; each returns plain JSON.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import {
  exactMatMulGrads,
  mePropMatMulGrads,
  MePropSelect,
  MePropSparseGradA,
  MePropSparseGradB,
  type MePropMode,
} from '@meprop/core';
import { benchKernelShape, type KernelShape } from '../../packages/bench/src/experiments/kernels';
import { measureStepRatio } from '../../packages/bench/src/experiments/mlp_step_ratio';
import type { MnistData } from '../../packages/bench/src/data/types';
import type { KernelMode } from '../../packages/bench/src/results/schema';
import { buildMlp, crossEntropy, makeBatch, trainableVariables } from '../../packages/bench/src/experiments/mlp';
import { makeRng } from '../../packages/bench/src/util/rng';
import { median } from '../../packages/bench/src/util/stats';
import { timeInterleaved } from '../../packages/bench/src/util/timing';
import { mePropify, sparseAdagrad, sparseAdam, sparseSgd } from '@meprop/layers';
import { referenceMask } from '../../packages/core/src/test-helpers/reference';
import { checkSparseLazyUpdate } from './lazy_update_checks';
import { byProgram, profileStepPrograms } from './step_programs';

type Path = 'kernels' | 'composite';

/** Counts the backend's synchronous read-backs (a meProp backward on a GPU backend should make none). */
function readSyncCounter(): { count: number } {
  const backend = tf.backend() as unknown as { readSync: (id: object) => unknown; __mePropReads?: { count: number } };
  if (backend.__mePropReads === undefined) {
    const counter = { count: 0 };
    const original = backend.readSync.bind(backend);
    backend.readSync = (id: object) => {
      counter.count++;
      return original(id);
    };
    backend.__mePropReads = counter;
  }
  return backend.__mePropReads;
}

async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

const ME_PROP_KERNELS = [MePropSelect, MePropSparseGradA, MePropSparseGradB, 'MePropScatterColumns', 'MePropGatherColumns'];

/** Runs fn with @meprop/core's kernels for the active backend removed (the composite tfjs-op path) or in place. */
async function onPath<T>(path: Path, fn: () => Promise<T>): Promise<T> {
  if (path === 'kernels') return fn();
  const backend = tf.getBackend();
  const saved = ME_PROP_KERNELS.map((n) => tf.getKernel(n, backend)).filter((c) => c !== undefined) as tf.KernelConfig[];
  saved.forEach((c) => tf.unregisterKernel(c.kernelName, backend));
  try {
    return await fn();
  } finally {
    saved.forEach((c) => tf.registerKernel(c));
  }
}

function rendererName(): string {
  if (tf.getBackend() === 'webgl') {
    const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGL2RenderingContext } }).gpgpu.gl;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(ext === null ? gl.getParameter(gl.RENDERER) : gl.getParameter(ext.UNMASKED_RENDERER_WEBGL));
  }
  if (tf.getBackend() === 'webgpu') {
    const info = (tf.backend() as unknown as { adapterInfo?: Record<string, string> }).adapterInfo;
    return info === undefined ? 'webgpu' : [info.vendor, info.architecture, info.description].filter((s) => s).join(' ');
  }
  return tf.getBackend();
}

export interface KernelsRequest {
  backend: string;
  path: Path;
  shapes: KernelShape[];
  modes: MePropMode[];
  warmup: number;
  reps: number;
  seed: number;
}

async function benchKernels(req: KernelsRequest) {
  await useBackend(req.backend);
  const counter = readSyncCounter();
  return onPath(req.path, async () => {
    const cases = [];
    for (const shape of req.shapes) {
      // The bench's schema types its modes as per-example | unified; benchKernelShape runs any MePropMode.
      const modes = req.modes as unknown as KernelMode[];
      const timed = await benchKernelShape(shape, { modes, warmup: req.warmup, reps: req.reps, seed: req.seed });
      // Read-backs during one meProp backward per mode (outside the timed loop).
      const [x, w, dy] = [
        tf.randomNormal([shape.batch, shape.inDim]),
        tf.randomNormal([shape.inDim, shape.outDim]),
        tf.randomNormal([shape.batch, shape.outDim]),
      ];
      const reads: Record<string, number> = {};
      for (const mode of req.modes) {
        const before = counter.count;
        const { da, db } = mePropMatMulGrads(dy, x, w, { k: shape.k, mode, seed: 1 });
        reads[mode] = counter.count - before;
        await Promise.all([da.data(), db.data()]);
        tf.dispose([da, db]);
      }
      tf.dispose([x, w, dy]);
      cases.push(...timed.map((c) => ({ ...c, readBacks: reads[c.mode] })));
    }
    return { backend: tf.getBackend(), renderer: rendererName(), path: req.path, cases };
  });
}

/** Values in {-2, -1, 0, 1, 2} (many ties) or roughly normal ones, from a seeded generator. */
function hostValues(n: number, seed: number, ties: boolean): Float32Array {
  const rng = makeRng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = ties ? Math.floor(rng() * 5) - 2 : rng() + rng() + rng() - 1.5;
  return v;
}

interface CheckCase {
  M: number;
  K: number;
  N: number;
  k: number;
  ties: boolean;
}

/**
 * meProp gradients on the backend against the cpu reference in the same page: every mode, every transpose,
 * k >= width (must equal plain tfjs) and k < width (brute-force mask for per-example and unified; the cpu
 * kernel with the same seed for random). Also checks that no tensor leaks and that nothing is read back.
 */
async function checkGradients(req: { backend: string }) {
  const cases: CheckCase[] = [
    { M: 5, K: 7, N: 12, k: 3, ties: false },
    { M: 6, K: 9, N: 16, k: 5, ties: true },
    { M: 4, K: 6, N: 10, k: 10, ties: false },
    { M: 4, K: 6, N: 10, k: 15, ties: false },
    { M: 33, K: 70, N: 130, k: 20, ties: false },
    { M: 17, K: 20, N: 64, k: 7, ties: true },
    { M: 9, K: 12, N: 200, k: 30, ties: true },
    { M: 8, K: 5, N: 300, k: 150, ties: true },
  ];
  const modes: MePropMode[] = ['per-example', 'unified', 'random'];
  const results = [];
  for (const c of cases) {
    for (const mode of modes) {
      for (const [tA, tB] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ]) {
        const a = hostValues(c.M * c.K, 11 + c.M, false);
        const b = hostValues(c.K * c.N, 23 + c.N, false);
        const dy = hostValues(c.M * c.N, 37 + c.k, c.ties);
        const aShape: [number, number] = tA ? [c.K, c.M] : [c.M, c.K];
        const bShape: [number, number] = tB ? [c.N, c.K] : [c.K, c.N];
        // Reference on cpu.
        await useBackend('cpu');
        const expected = tf.tidy(() => {
          const [at, bt, dyt] = [tf.tensor2d(a, aShape), tf.tensor2d(b, bShape), tf.tensor2d(dy, [c.M, c.N])];
          if (mode === 'random' && c.k < c.N) {
            const g = mePropMatMulGrads(dyt, at, bt, { k: c.k, mode, seed: 5 }, tA, tB);
            return [g.da.dataSync(), g.db.dataSync()];
          }
          const mask =
            c.k >= c.N
              ? new Float32Array(c.M * c.N).fill(1)
              : referenceMask(dy, c.M, c.N, c.k, mode === 'unified' ? 'unified' : 'per-example');
          const masked = tf.mul(dyt, tf.tensor2d(mask, [c.M, c.N]));
          const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, w, tA, tB), masked)))([at, bt]);
          return [ga.dataSync(), gb.dataSync()];
        });
        // The backend under test.
        await useBackend(req.backend);
        const counter = readSyncCounter();
        // Odd M: operands come out of a tfjs op (on webgl a packed texture, as in a real model); even M: uploaded.
        const viaOp = c.M % 2 === 1;
        const [at, bt, dyt] = tf.tidy(() =>
          [tf.tensor2d(a, aShape), tf.tensor2d(b, bShape), tf.tensor2d(dy, [c.M, c.N])].map((t) =>
            viaOp ? tf.add(t, 0) : t.clone(),
          ),
        );
        const before = tf.memory().numTensors;
        const reads0 = counter.count;
        const g = mePropMatMulGrads(dyt, at, bt, { k: c.k, mode, seed: 5 }, tA, tB);
        const readBacks = counter.count - reads0;
        const [da, db] = await Promise.all([g.da.data(), g.db.data()]);
        tf.dispose([g.da, g.db]);
        const leaked = tf.memory().numTensors - before;
        tf.dispose([at, bt, dyt]);
        let maxErr = 0;
        let maxRef = 0;
        [
          [da, expected[0]],
          [db, expected[1]],
        ].forEach(([got, want]) => {
          for (let i = 0; i < want.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
            maxRef = Math.max(maxRef, Math.abs(want[i]));
          }
        });
        const ok = maxErr <= 1e-4 * Math.max(1, maxRef) && leaked === 0 && readBacks === 0;
        results.push({ ...c, viaOp, mode, transposeA: tA, transposeB: tB, maxErr, leaked, readBacks, ok });
      }
    }
  }
  return { backend: req.backend, renderer: rendererName(), results };
}

/** Synthetic MNIST-shaped data (timing does not depend on the pixels); the real digits stay in Node. */
function syntheticMnist(n: number): MnistData {
  const rng = makeRng(7);
  const images = new Float32Array(n * 784).map(() => (rng() < 0.8 ? 0 : rng()));
  const labels = Int32Array.from({ length: n }, () => Math.floor(rng() * 10));
  const split = { images, labels, n };
  return { train: split, test: split, source: 'synthetic (browser bench)' };
}

/** One training step of the MNIST MLP: plain Adam against meProp unified + lazy sparseAdam (bench's measureStepRatio). */
async function benchStep(req: {
  backend: string;
  path: Path;
  batchSize: number;
  k: number;
  hidden: number[];
  warmup: number;
  reps: number;
}) {
  await useBackend(req.backend);
  const counter = readSyncCounter();
  return onPath(req.path, async () => {
    const before = tf.memory().numTensors;
    const reads0 = counter.count;
    const r = await measureStepRatio(syntheticMnist(20 * req.batchSize), {
      batchSize: req.batchSize,
      k: req.k,
      hidden: req.hidden,
      seed: 1,
      warmup: req.warmup,
      reps: req.reps,
    });
    return {
      backend: tf.getBackend(),
      renderer: rendererName(),
      path: req.path,
      ...r,
      readBacks: counter.count - reads0,
      leaked: tf.memory().numTensors - before,
    };
  });
}

Object.assign(window as unknown as Record<string, unknown>, { benchKernels, checkGradients, benchStep });

/** Wall time of each meProp kernel alone on the backend (diagnostics: where a backward spends its time). */
async function profileKernels(req: { backend: string; M: number; K: number; N: number; k: number; reps: number }) {
  await useBackend(req.backend);
  const { M, K, N, k } = req;
  const x = tf.randomNormal([M, K]);
  const w = tf.randomNormal([K, N]);
  const dy = tf.randomNormal([M, N]);
  const time = async (f: () => tf.Tensor | tf.Tensor[]): Promise<number> => {
    const ts: number[] = [];
    for (let i = 0; i < req.reps + 1; i++) {
      const t0 = performance.now();
      const out = f();
      const outs = Array.isArray(out) ? out : [out];
      await Promise.all(outs.map((t) => t.data()));
      ts.push(performance.now() - t0);
      tf.dispose(outs);
    }
    return ts.slice(1).sort((p, q) => p - q)[Math.floor(req.reps / 2)];
  };
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => () =>
    tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  const [idx, val] = tf.engine().runKernel(MePropSelect, { dy }, { k, mode: 'per-example', seed: 1 }) as tf.Tensor[];
  const shared = tf.slice(idx, [0, 0], [1, k]).reshape([k]);
  const rows = tf.randomNormal([k, K]);
  const g = { transposeA: false, transposeB: false, M, K, N, shared: false };
  const out = {
    plainDx: await time(() => tf.matMul(dy, w, false, true)),
    plainDw: await time(() => tf.matMul(x, dy, true, false)),
    selectPerExample: await time(run(MePropSelect, { dy }, { k, mode: 'per-example', seed: 1 })),
    selectUnified: await time(run(MePropSelect, { dy }, { k, mode: 'unified', seed: 1 })),
    selectRandom: await time(run(MePropSelect, { dy }, { k, mode: 'random', seed: 1 })),
    sparseGradA: await time(run(MePropSparseGradA, { indices: idx, values: val, b: w }, g)),
    sparseGradB: await time(run(MePropSparseGradB, { indices: idx, values: val, a: x }, g)),
    scatterColumns: await time(run('MePropScatterColumns', { rows, indices: shared }, { N, rowsOut: false })),
    gatherColumns: await time(() => tf.gather(w, shared, 1)),
    backwardPlain: await time(() => {
      const g = exactMatMulGrads(dy, x, w, false, false);
      return [g.a(), g.b()];
    }),
    backwardPerExample: await time(() => {
      const g = mePropMatMulGrads(dy, x, w, { k, mode: 'per-example' });
      return [g.da, g.db];
    }),
    backwardUnified: await time(() => {
      const g = mePropMatMulGrads(dy, x, w, { k, mode: 'unified' });
      return [g.da, g.db];
    }),
    backwardRandom: await time(() => {
      const g = mePropMatMulGrads(dy, x, w, { k, mode: 'random', seed: 1 });
      return [g.da, g.db];
    }),
    smallMatMul: await time(() => tf.matMul(val, tf.gather(w, shared, 1), false, true)),
  };
  tf.dispose([x, w, dy, idx, val, shared, rows]);
  return { backend: req.backend, ...out };
}

Object.assign(window as unknown as Record<string, unknown>, { profileKernels });

/**
 * The MNIST MLP step split by what changes: plain or meProp (unified) gradients, tf.train.adam or the lazy
 * sparseAdam, timed interleaved. Gradients come from tf.variableGrads and go to applyGradients, so they are
 * dense here (the sparse-gradient session of minimize is what `step` measures).
 */
async function profileStep(req: {
  backend: string;
  batchSize: number;
  k: number;
  hidden: number[];
  warmup: number;
  reps: number;
}) {
  await useBackend(req.backend);
  const data = syntheticMnist(20 * req.batchSize);
  const order = Int32Array.from({ length: data.train.n }, (_, i) => i);
  const variants = [
    { name: 'plain + adam', meProp: false, lazy: false },
    { name: 'plain + sparseAdam (dense)', meProp: false, lazy: true },
    { name: 'unified + adam', meProp: true, lazy: false },
    { name: 'unified + sparseAdam (dense)', meProp: true, lazy: true },
  ].map((v) => {
    const base = buildMlp(req.hidden, 1);
    const model = v.meProp ? mePropify(base, { k: req.k, mode: 'unified', seed: 1 }).model : base;
    const optimizer: tf.Optimizer = v.lazy ? sparseAdam(1e-3) : tf.train.adam(1e-3);
    const vars = trainableVariables(model);
    let start = 0;
    const step = async (): Promise<void> => {
      if (start + req.batchSize > order.length) start = 0;
      const { x, y } = makeBatch(data.train, order, start, req.batchSize);
      start += req.batchSize;
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(x, { training: true }) as tf.Tensor, y), vars);
      optimizer.applyGradients(grads);
      await Promise.all([value.data(), ...vars.map((w) => w.data())]);
      tf.dispose([x, y, value, ...Object.values(grads)]);
    };
    return {
      ...v,
      step,
      dispose: () => {
        optimizer.dispose();
        model.dispose();
      },
    };
  });
  const samples = await timeInterleaved(
    variants.map((v) => v.step),
    { warmup: req.warmup, reps: req.reps },
  );
  variants.forEach((v) => v.dispose());
  return { backend: req.backend, steps: variants.map((v, i) => ({ variant: v.name, ms: median(samples[i]) })) };
}

Object.assign(window as unknown as Record<string, unknown>, { profileStep });

/**
 * The lazy optimizers (@meprop/layers; their composite tfjs-op path on GPU backends) against the same steps on
 * cpu: a [6, 10] weight and a bias, three steps with gradients whose columns 2, 5 and 7 are zero (those columns
 * must stay untouched), plus the read-backs and leaked tensors of the steps.
 */
async function checkLazyOptimizers(req: { backend: string }) {
  const makers: Array<[string, () => tf.Optimizer]> = [
    ['sparseAdam', () => sparseAdam(0.01)],
    ['sparseAdagrad', () => sparseAdagrad(0.1)],
    ['sparseSgd', () => sparseSgd(0.1)],
  ];
  const grads = [0, 1, 2].map((s) => {
    const g = hostValues(60, 101 + s, false);
    for (let r = 0; r < 6; r++) for (const c of [2, 5, 7]) g[r * 10 + c] = 0;
    return g;
  });
  const run = async (backend: string, make: () => tf.Optimizer, epsilonOverride?: number) => {
    await useBackend(backend);
    // The optimizers take their epsilon from the backend (webgl on SwiftShader reports float16 precision, 1e-4):
    // the cpu reference runs with the checked backend's epsilon, so that only the arithmetic is compared.
    const active = tf.backend() as unknown as { epsilon: () => number };
    const ownEpsilon = active.epsilon;
    if (epsilonOverride !== undefined) active.epsilon = () => epsilonOverride;
    const counter = backend === 'cpu' ? { count: 0 } : readSyncCounter();
    const w = tf.variable(tf.tensor2d(hostValues(60, 7, false), [6, 10]), true, `lazyCheckW_${backend}`);
    const bias = tf.variable(tf.tensor1d(hostValues(10, 8, false)), true, `lazyCheckB_${backend}`);
    const opt = make();
    const epsilon = tf.backend().epsilon();
    const before = tf.memory().numTensors;
    const reads0 = counter.count;
    for (const g of grads) {
      const gw = tf.tensor2d(g, [6, 10]);
      const gb = tf.tensor1d(g.slice(0, 10));
      opt.applyGradients([
        { name: w.name, tensor: gw },
        { name: bias.name, tensor: gb },
      ]);
      tf.dispose([gw, gb]);
    }
    active.epsilon = ownEpsilon;
    const readBacks = counter.count - reads0;
    const values = [await w.data(), await bias.data()];
    const grew = tf.memory().numTensors - before;
    opt.dispose();
    w.dispose();
    bias.dispose();
    return { values, readBacks, grew, epsilon };
  };
  const results = [];
  for (const [name, make] of makers) {
    await useBackend(req.backend);
    const want = await run('cpu', make, tf.backend().epsilon());
    const got = await run(req.backend, make);
    let maxErr = 0;
    want.values.forEach((v, i) => v.forEach((x, j) => (maxErr = Math.max(maxErr, Math.abs(x - got.values[i][j])))));
    const initial = hostValues(60, 7, false);
    const untouched = [2, 5, 7].every((c) => [0, 1, 2, 3, 4, 5].every((r) => got.values[0][r * 10 + c] === initial[r * 10 + c]));
    // Tolerance 1e-5 on weights of order 1 (WebGL's sqrt and division need not be IEEE-exact); the untouched
    // columns are compared exactly. The optimizer's
    // slots (2 per variable for Adam, 1 for Adagrad, none for SGD) are the tensors it may keep.
    results.push({
      optimizer: name,
      path: tf.getKernel('MePropLazyUpdate', req.backend) === undefined ? 'composite' : 'kernel',
      epsilon: [want.epsilon, got.epsilon],
      maxErr,
      untouched,
      readBacks: got.readBacks,
      tensorsKept: got.grew,
      ok: maxErr < 1e-5 && untouched && got.readBacks === 0,
    });
  }
  return { backend: req.backend, results };
}

Object.assign(window as unknown as Record<string, unknown>, { checkLazyOptimizers });

/** The sparse update kernel (slices from a sparse-gradient session) against the cpu loops: lazy_update_checks.ts. */
async function checkSparseLazy(req: { backend: string }) {
  await useBackend(req.backend);
  return { backend: req.backend, results: await checkSparseLazyUpdate(readSyncCounter()) };
}

Object.assign(window as unknown as Record<string, unknown>, { checkSparseLazy });

/**
 * One optimizer update of a [rows, cols] weight alone (diagnostics): tf.train.adam and sparseAdam on a dense
 * gradient with k non-zero columns, and sparseAdam's sparse kernel on the k slices, timed interleaved.
 */
async function profileOptimizer(req: { backend: string; rows: number; cols: number; k: number; warmup: number; reps: number }) {
  await useBackend(req.backend);
  const { rows, cols, k } = req;
  const idx = tf.tensor1d(
    Array.from({ length: k }, (_, t) => Math.floor((t * cols) / k)),
    'int32',
  );
  const slices = tf.randomNormal([k, rows]) as tf.Tensor2D;
  const dense = tf.tidy(() => tf.transpose(tf.scatterND(tf.expandDims(idx, 1), slices, [cols, rows])));
  const make = (name: string, opt: tf.Optimizer, sparse: boolean) => {
    const w = tf.variable(tf.randomNormal([rows, cols]), true, `profileOpt_${name}_${req.backend}`);
    return {
      name,
      step: async () => {
        if (sparse) {
          const attrs = {
            learningRate: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            correction1: 0.1,
            correction2: 0.001,
            rule: 'adam',
            rows,
            cols,
            lazy: true,
            axis: 1,
            unique: true,
          };
          const state = (opt as unknown as { __slots?: tf.Variable[] }).__slots ?? [
            tf.variable(tf.zeros([cols, rows]), false),
            tf.variable(tf.zeros([cols, rows]), false),
          ];
          (opt as unknown as { __slots?: tf.Variable[] }).__slots = state;
          const next = tf
            .engine()
            .runKernel(
              'MePropSparseLazyUpdate',
              { value: w, indices: idx, rows: slices, slot0: state[0], slot1: state[1] },
              attrs as unknown as tf.NamedAttrMap,
            ) as tf.Tensor[];
          w.assign(next[0]);
          state[0].assign(next[1]);
          state[1].assign(next[2]);
          tf.dispose(next);
        } else {
          opt.applyGradients([{ name: w.name, tensor: dense }]);
        }
        await w.data();
      },
      dispose: () => {
        opt.dispose();
        w.dispose();
        tf.dispose((opt as unknown as { __slots?: tf.Variable[] }).__slots ?? []);
      },
    };
  };
  const variants = [
    make('tf.train.adam (dense)', tf.train.adam(1e-3), false),
    make('sparseAdam kernel (dense grad)', sparseAdam(1e-3), false),
    make('sparseAdam kernel (slices)', sparseAdam(1e-3), true),
  ];
  const samples = await timeInterleaved(
    variants.map((v) => v.step),
    { warmup: req.warmup, reps: req.reps },
  );
  variants.forEach((v) => v.dispose());
  tf.dispose([idx, slices, dense]);
  return { backend: req.backend, rows, cols, k, steps: variants.map((v, i) => ({ variant: v.name, ms: median(samples[i]) })) };
}

Object.assign(window as unknown as Record<string, unknown>, { profileOptimizer });

/** The MNIST step's shader programs on webgl, timed one by one (diagnostics): step_programs.ts. */
async function profileStepByProgram(req: { batchSize: number; k: number; hidden: number[]; steps: number }) {
  await useBackend('webgl');
  return profileStepPrograms(syntheticMnist(20 * req.batchSize), req);
}

Object.assign(window as unknown as Record<string, unknown>, { profileStepByProgram });

/** One backward of x @ W on webgl, plain and per mode, program by program (diagnostics): step_programs.ts. */
async function profileBackwardByProgram(req: { M: number; K: number; N: number; k: number; reps: number; modes: MePropMode[] }) {
  await useBackend('webgl');
  const x = tf.randomNormal([req.M, req.K]);
  const w = tf.randomNormal([req.K, req.N]);
  const dy = tf.randomNormal([req.M, req.N]);
  const out = [];
  const plain = async () => {
    const g = exactMatMulGrads(dy, x, w, false, false);
    const r = [g.a(), g.b()];
    await Promise.all(r.map((t) => t.data()));
    tf.dispose(r);
  };
  out.push({ variant: 'plain', ...(await byProgram(plain, req.reps)) });
  for (const mode of req.modes) {
    const run = async () => {
      const g = mePropMatMulGrads(dy, x, w, { k: req.k, mode, seed: 1 });
      await Promise.all([g.da.data(), g.db.data()]);
      tf.dispose([g.da, g.db]);
    };
    out.push({ variant: mode, ...(await byProgram(run, req.reps)) });
  }
  tf.dispose([x, w, dy]);
  return out;
}

Object.assign(window as unknown as Record<string, unknown>, { profileBackwardByProgram });
