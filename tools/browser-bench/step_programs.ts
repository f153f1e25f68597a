// Diagnostics: which shader programs one MNIST MLP training step runs on webgl, and how long each takes. Every
// program is followed by a synchronous 1-pixel read of its output (gl.finish() alone does not wait for
// SwiftShader), so the sum is slower than a real step but splits it by program; also counts the programs run
// and the distinct programs compiled.
import * as tf from '@tensorflow/tfjs';
import { makeVariant, PAPER_LEARNING_RATES } from '../../packages/bench/src/experiments/variants';
import { crossEntropy, makeBatch, trainableVariables } from '../../packages/bench/src/experiments/mlp';
import type { MnistData } from '../../packages/bench/src/data/types';

interface WebGLBackendInternals {
  runWebGLProgram: (program: object, ...rest: unknown[]) => tf.TensorInfo;
  gpgpu: { gl: WebGL2RenderingContext };
  binaryCache: Record<string, unknown>;
  texData: { get(dataId: object): { texture?: { texture: WebGLTexture } } | undefined };
}

/** Waits for the GPU to write t: reads one texel of its texture through a framebuffer of our own. */
function waitFor(backend: WebGLBackendInternals, t: tf.TensorInfo, fb: WebGLFramebuffer): void {
  const gl = backend.gpgpu.gl;
  const tex = backend.texData.get(t.dataId)?.texture?.texture;
  if (tex === undefined) return;
  const bound = gl.getParameter(gl.FRAMEBUFFER_BINDING) as WebGLFramebuffer | null;
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, new Float32Array(4));
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
  gl.bindFramebuffer(gl.FRAMEBUFFER, bound);
}

/** A program's name: tfjs's classes by constructor name, meProp's plain objects by their variable names. */
function programName(p: object): string {
  const ctor = (p as { constructor?: { name?: string } }).constructor?.name;
  if (ctor !== undefined && ctor !== 'Object') return ctor;
  return `meProp(${(p as { variableNames: string[] }).variableNames.join(',')})`;
}

/** Runs `fn` `reps` times with every program waited for; per program name: runs and ms per call of fn. */
export async function byProgram(fn: () => Promise<void>, reps: number) {
  const backend = tf.backend() as unknown as WebGLBackendInternals;
  const gl = backend.gpgpu.gl;
  const original = backend.runWebGLProgram;
  const fb = gl.createFramebuffer() as WebGLFramebuffer;
  await fn(); // compiles
  const cached0 = Object.keys(backend.binaryCache).length;
  const times = new Map<string, [number, number]>();
  let programs = 0;
  backend.runWebGLProgram = function (this: unknown, program: object, ...rest: unknown[]) {
    const t0 = performance.now();
    const r = original.call(this, program, ...rest);
    waitFor(backend, r, fb);
    const name = programName(program);
    const [n, ms] = times.get(name) ?? [0, 0];
    times.set(name, [n + 1, ms + performance.now() - t0]);
    programs++;
    return r;
  };
  const t0 = performance.now();
  try {
    for (let s = 0; s < reps; s++) await fn();
  } finally {
    backend.runWebGLProgram = original;
    gl.deleteFramebuffer(fb);
  }
  return {
    totalMs: (performance.now() - t0) / reps,
    programs: programs / reps,
    compiled: Object.keys(backend.binaryCache).length - cached0,
    byProgram: [...times.entries()]
      .map(([name, [n, ms]]) => [name, n / reps, ms / reps] as [string, number, number])
      .sort((x, y) => y[2] - x[2]),
  };
}

export async function profileStepPrograms(
  data: MnistData,
  req: { batchSize: number; k: number; hidden: number[]; steps: number },
) {
  const out = [];
  for (const method of ['plain', 'unified'] as const) {
    const v = makeVariant(method, 'adam', {
      hidden: req.hidden,
      seed: 1,
      k: req.k,
      learningRate: PAPER_LEARNING_RATES.adam,
    });
    const vars = trainableVariables(v.model);
    const order = Int32Array.from({ length: data.train.n }, (_, i) => i);
    let start = 0;
    const step = async () => {
      const { x, y } = makeBatch(data.train, order, start, req.batchSize);
      start = (start + req.batchSize) % (data.train.n - req.batchSize);
      const value = v.optimizer.minimize(() => crossEntropy(v.model.apply(x, { training: true }) as tf.Tensor, y), true, vars);
      await value?.data();
      value?.dispose();
      tf.dispose([x, y]);
    };
    out.push({
      variant: method === 'plain' ? 'plain + tf.train.adam' : 'unified + sparseAdam',
      ...(await byProgram(step, req.steps)),
    });
    v.dispose();
  }
  return out;
}
