import * as tf from '@tensorflow/tfjs';
import { buildMlp, crossEntropy, logitsCrossEntropy, mlpLoss } from './mlp';
import { makeVariant, PAPER_ADAM_EPSILON } from './variants';

describe("the MLP's loss and optimizer per protocol", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('logitsCrossEntropy is -log softmax of the true class, with gradient softmax - target', () => {
    const logits = tf.tensor2d([
      [2, 0, -1],
      [0, 30, -30],
    ]);
    const y = tf.tensor2d([
      [1, 0, 0],
      [0, 0, 1],
    ]);
    // By hand: -log(e^2 / (e^2 + 1 + e^-1)) and -log(e^-30 / (1 + e^30 + e^-30)) = 60 + log(1 + e^-30 + e^-60).
    const first = -Math.log(Math.exp(2) / (Math.exp(2) + 1 + Math.exp(-1)));
    const second = 60;
    expect(logitsCrossEntropy(logits, y).dataSync()[0]).toBeCloseTo((first + second) / 2, 4);
    const g = tf
      .grad((l: tf.Tensor) => logitsCrossEntropy(l, y))(logits)
      .arraySync() as number[][];
    // The badly wrong second example still gets its full gradient: (softmax - target) / batch.
    expect(g[1][2]).toBeCloseTo(-0.5, 6);
    expect(g[1][1]).toBeCloseTo(0.5, 6);
    const z = Math.exp(2) + 1 + Math.exp(-1);
    expect(g[0][0]).toBeCloseTo((Math.exp(2) / z - 1) / 2, 6);
    // The clipped cross-entropy of probabilities gives that example nothing: p = e^-60 is below the 1e-7 clip.
    const clipped = tf
      .grad((l: tf.Tensor) => crossEntropy(tf.softmax(l), y))(logits)
      .arraySync() as number[][];
    expect(clipped[1].every((v) => v === 0)).toBe(true);
    tf.dispose([logits, y]);
  });

  it('paper: a linear output (logits) trained with log-softmax; quick: softmax output, clipped cross-entropy', () => {
    const paper = buildMlp([8], 1, 'paper');
    const quick = buildMlp([8], 1, 'quick');
    const last = (m: tf.Sequential) => (m.layers[m.layers.length - 1].getConfig() as { activation: string }).activation;
    expect(last(paper)).toBe('linear');
    expect(last(quick)).toBe('softmax');
    expect(mlpLoss('paper')).toBe(logitsCrossEntropy);
    expect(mlpLoss('quick')).toBe(crossEntropy);
    paper.dispose();
    quick.dispose();
  });

  it("paper: Adam's epsilon is PyTorch's 1e-8 for plain and meProp rows; quick keeps tfjs's default", () => {
    const eps = (method: 'plain' | 'unified', protocol: 'paper' | 'quick', sparse: boolean) => {
      const v = makeVariant(method, 'adam', {
        hidden: [8],
        seed: 1,
        k: 2,
        learningRate: 1e-3,
        protocol,
        sparseOptimizers: sparse,
      });
      const e = (v.optimizer.getConfig() as { epsilon: number }).epsilon;
      v.dispose();
      return e;
    };
    expect(eps('plain', 'paper', false)).toBe(PAPER_ADAM_EPSILON);
    expect(eps('unified', 'paper', false)).toBe(PAPER_ADAM_EPSILON);
    expect(eps('unified', 'paper', true)).toBe(PAPER_ADAM_EPSILON);
    expect(eps('plain', 'quick', false)).toBe(tf.backend().epsilon());
  });
});
