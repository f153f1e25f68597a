import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, tensorCountAfter } from '@meprop/test-utils';
import { Vae } from './vae';

const small = (seed: number) =>
  new Vae({
    inputSize: 6,
    latentSize: 3,
    hiddenUnits: [5],
    activation: 'tanh',
    iaf: { steps: 2, hiddenUnits: [4], contextSize: 2, activation: 'tanh' },
    seed,
  });

const binary = (rows: number, seed: number) =>
  tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([rows, 6], 0, 1, 'float32', seed), 0.5), 'float32')) as tf.Tensor2D;

function logMeanExp64(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((acc, v) => acc + Math.exp(v - max), 0) / values.length);
}

describeEachBackend('Vae with an IAF posterior', () => {
  it('has ELBO gradients that match central finite differences', () => {
    const model = small(1);
    const x = binary(4, 2);
    const noise = tf.randomNormal([4, 3], 0, 1, 'float32', 3) as tf.Tensor2D;
    const vars = model.trainableVariables();
    const { grads } = tf.variableGrads(() => model.loss(x, noise), vars);
    const lossAt = () => tf.tidy(() => model.loss(x, noise).dataSync()[0]);
    const h = 1e-2;
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = v.dataSync().slice();
      // A few entries of every variable: encoder, IAF steps (MADE kernels, context kernels) and decoder.
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = (delta: number) => {
          const p = base.slice();
          p[i] += delta;
          v.assign(tf.tensor(p, v.shape));
          return lossAt();
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[i]));
        checked++;
      }
    }
    expect(checked).toBe(3 * vars.length);
    // The flow's weights are among them and do get a gradient.
    const flowNames = new Set(model.flow!.trainableWeights.map((w) => (w.read() as tf.Variable).name));
    const flowGrad = vars
      .filter((v) => flowNames.has(v.name))
      .reduce((acc, v) => acc + tf.sum(tf.abs(grads[v.name])).dataSync()[0], 0);
    expect(flowGrad).toBeGreaterThan(0);
  });

  it('computes the importance-weighted bound as a stable log-mean-exp of the log-weights', () => {
    // Two VAEs with one seed share weights and noise, so one's log-weights are the other's importance samples.
    const a = small(7);
    const b = small(7);
    const x = binary(3, 4);
    const logW = a.logWeights(x, 20).arraySync() as number[][];
    const iw = b.importanceWeightedLogLikelihood(x, 20, 20).arraySync() as number[];
    iw.forEach((v, n) => expect(Math.abs(v - logMeanExp64(logW.map((row) => row[n])))).toBeLessThan(1e-3));
    // Log-weights around −1e4 underflow a naive exp; the shifted log-sum-exp stays finite and ≥ the mean.
    const logits = b.decoder.getLayer('decoder_logits');
    logits.setWeights(logits.getWeights().map((w) => tf.mul(w, 3000)));
    const big = b.logWeights(x, 10).arraySync() as number[][];
    const iwBig = b.importanceWeightedLogLikelihood(x, 10).arraySync() as number[];
    iwBig.forEach((v, n) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.min(...big.map((row) => row[n]))).toBeLessThan(-1000);
    });
  });

  it('trains with optimizer.minimize without leaking tensors', async () => {
    const model = small(3);
    const x = binary(8, 5);
    const opt = tf.train.adam(1e-2);
    const vars = model.trainableVariables();
    const losses: number[] = [];
    const { after1, afterN } = await tensorCountAfter(() => {
      const cost = opt.minimize(() => model.loss(x), true, vars) as tf.Scalar;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    }, 60);
    expect(afterN).toBe(after1);
    const mean = (v: number[]) => v.reduce((p, c) => p + c, 0) / v.length;
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)));
  });

  it('works without a context when the IAF is given contextSize 0', () => {
    const model = new Vae({
      inputSize: 6,
      latentSize: 3,
      hiddenUnits: [5],
      iaf: { steps: 2, hiddenUnits: [4], contextSize: 0 },
      seed: 1,
    });
    expect(model.encoder.outputs.length).toBe(2);
    expect(Number.isFinite(model.elbo(binary(2, 1)).dataSync()[0])).toBe(true);
  });

  it('rejects bad arguments with the argument name and value', () => {
    expect(() => new Vae({ inputSize: 6, latentSize: 0, hiddenUnits: [5] })).toThrow(/latentSize must be an integer >= 1, got 0/);
    expect(() => new Vae({ inputSize: 6, latentSize: 4, hiddenUnits: [5], iaf: { steps: 1, hiddenUnits: [2] } })).toThrow(
      /hiddenUnits\[0\] must be >= eventSize - 1 = 3 for eventSize 4, got 2/,
    );
    const model = small(1);
    expect(() => model.elbo(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(/x must have shape \[batch, 6\], got \[2, 5\]/);
    expect(() => model.elbo(tf.zeros([2, 6]) as tf.Tensor2D, tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(
      /noise must have shape \[batch \* samples, latentSize\] = \[2, 3\], got \[2, 2\]/,
    );
    expect(() => model.importanceWeightedLogLikelihood(tf.zeros([2, 6]) as tf.Tensor2D, 0)).toThrow(
      /samples must be an integer >= 1, got 0/,
    );
  });
});
