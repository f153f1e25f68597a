// The shared checks every flow of the package goes through (the counterpart of TFP's bijector_test_util):
// bijectivity, log-det against an autodiff Jacobian, finiteness at the edges, and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import { maxRelDiff } from '@meprop/test-utils';

/** What the checker needs from a flow: forward with its log|det J| per example, and an inverse. */
export interface CheckableFlow {
  eventSize: number;
  contextSize: number;
  forward(z: tf.Tensor2D, h?: tf.Tensor2D): { z: tf.Tensor2D; logDet: tf.Tensor1D };
  inverse(y: tf.Tensor2D, h?: tf.Tensor2D): tf.Tensor2D;
}

/** log|det A| of a square matrix by LU with partial pivoting, in float64. */
export function logAbsDet(a: number[][]): number {
  const n = a.length;
  const m = a.map((row) => row.slice());
  let sum = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    if (m[p][k] === 0) return -Infinity;
    [m[k], m[p]] = [m[p], m[k]];
    sum += Math.log(Math.abs(m[k][k]));
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j < n; j++) m[i][j] -= f * m[k][j];
    }
  }
  return sum;
}

/**
 * J[b][i][j] = ∂f(z)_i / ∂z_j per example, one tf.grad per output dimension (rows of a batch do not interact, so
 * the gradient of the batch sum of output i is row i of every example's Jacobian).
 */
export function batchJacobian(f: (z: tf.Tensor2D) => tf.Tensor2D, z: tf.Tensor2D): number[][][] {
  const [batch, d] = z.shape;
  const out = f(z);
  const outDim = out.shape[1];
  out.dispose();
  const jac: number[][][] = Array.from({ length: batch }, () => []);
  for (let i = 0; i < outDim; i++) {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.slice(f(x as tf.Tensor2D), [0, i], [batch, 1])))(z);
    const v = g.dataSync();
    g.dispose();
    for (let b = 0; b < batch; b++) jac[b].push(Array.from(v.subarray(b * d, (b + 1) * d)));
  }
  return jac;
}

function allFinite(t: tf.Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

/**
 * Sets the last MADE layer of every step so that m = 0 and s = `s` whatever the input: kernels of the output
 * layer (masked and context) to zero, the bias to [0, s, 0, s, ...].
 */
export function forceShiftAndScale(weights: LayerVariable[], hiddenLayers: number, s: number): void {
  const last = hiddenLayers;
  for (const w of weights) {
    const name = w.originalName;
    if (name.endsWith(`kernel_${last}`)) {
      w.write(tf.zeros(w.shape as number[]));
    } else if (name.endsWith(`bias_${last}`)) {
      const n = w.shape[0] as number;
      w.write(tf.tensor1d(Array.from({ length: n }, (_, k) => (k % 2 === 1 ? s : 0))));
    }
  }
}

export interface CheckFlowOptions {
  batch?: number;
  seed?: number;
  /** Tolerance of the round trip and of the log-det (default 1e-4). */
  tol?: number;
  /** Scale of the random test points (default 2). */
  scale?: number;
}

function context(flow: CheckableFlow, batch: number, seed: number): tf.Tensor2D | undefined {
  return flow.contextSize > 0 ? tf.randomNormal([batch, flow.contextSize], 0, 1, 'float32', seed + 1) : undefined;
}

/** inverse(forward(z)) ≈ z, error relative to max(1, |z|) (float32 arithmetic). */
export function checkRoundTrip(flow: CheckableFlow, opts: CheckFlowOptions = {}): number {
  const { batch = 6, seed = 3, tol = 1e-4, scale = 2 } = opts;
  return tf.tidy(() => {
    const z = tf.randomUniform([batch, flow.eventSize], -scale, scale, 'float32', seed) as tf.Tensor2D;
    const h = context(flow, batch, seed);
    const back = flow.inverse(flow.forward(z, h).z, h);
    const err = maxRelDiff(back, z);
    if (!(err <= tol)) throw new Error(`inverse(forward(z)) differs from z by ${err} > ${tol}`);
    return err;
  });
}

/** The flow's log-det against log|det J| of the autodiff Jacobian of its forward pass. */
export function checkLogDet(flow: CheckableFlow, opts: CheckFlowOptions = {}): number {
  const { batch = 4, seed = 5, tol = 1e-4, scale = 2 } = opts;
  return tf.tidy(() => {
    const z = tf.randomUniform([batch, flow.eventSize], -scale, scale, 'float32', seed) as tf.Tensor2D;
    const h = context(flow, batch, seed);
    const logDet = flow.forward(z, h).logDet.dataSync();
    const jac = batchJacobian((x) => flow.forward(x, h).z, z);
    let worst = 0;
    jac.forEach((j, b) => {
      const want = logAbsDet(j);
      const err = Math.abs(logDet[b] - want) / Math.max(1, Math.abs(want));
      if (!(err <= tol))
        throw new Error(`log-det of example ${b}: flow says ${logDet[b]}, Jacobian says ${want} (error ${err} > ${tol})`);
      worst = Math.max(worst, err);
    });
    return worst;
  });
}

/** Forward outputs and log-det stay finite for inputs of magnitude `magnitude`. */
export function checkFiniteForLargeInputs(flow: CheckableFlow, magnitude = 1e4): void {
  tf.tidy(() => {
    const batch = 4;
    const z = tf.mul(tf.sign(tf.randomUniform([batch, flow.eventSize], -1, 1, 'float32', 11)), magnitude) as tf.Tensor2D;
    const h = context(flow, batch, 11);
    const r = flow.forward(z, h);
    if (!allFinite(r.z) || !allFinite(r.logDet)) throw new Error(`forward is not finite for |z| = ${magnitude}`);
  });
}

/** forward is finite (z and log-det) in the current weights, e.g. after forceShiftAndScale(±30). */
export function checkFiniteForward(flow: CheckableFlow, label: string): void {
  tf.tidy(() => {
    const z = tf.randomUniform([4, flow.eventSize], -3, 3, 'float32', 13) as tf.Tensor2D;
    const h = context(flow, 4, 13);
    const r = flow.forward(z, h);
    if (!allFinite(r.z) || !allFinite(r.logDet)) throw new Error(`forward is not finite (${label})`);
  });
}

/** forward + inverse leave the number of live tensors unchanged. */
export function checkNoLeaks(flow: CheckableFlow, runs = 5): void {
  const z = tf.randomUniform([3, flow.eventSize], -1, 1, 'float32', 17) as tf.Tensor2D;
  const h = context(flow, 3, 17);
  const step = () => {
    const r = flow.forward(z, h);
    const back = flow.inverse(r.z, h);
    tf.dispose([r.z, r.logDet, back]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < runs; i++) step();
  const after = tf.memory().numTensors;
  tf.dispose([z, ...(h ? [h] : [])]);
  if (after !== before) throw new Error(`forward/inverse leaked ${after - before} tensors over ${runs} runs`);
}

/** All of the above, the way every flow test calls it. */
export function checkFlow(flow: CheckableFlow, opts: CheckFlowOptions = {}): void {
  checkRoundTrip(flow, opts);
  checkLogDet(flow, opts);
  checkFiniteForLargeInputs(flow);
  checkNoLeaks(flow);
}
