// The flows view: fits the banana density with @meprop/flows and draws the flow's density and samples.
// MAF is fitted by maximum likelihood on exact samples of the target (its log-density is one pass);
// IAF by reverse KL against the target's log-density (its sampling is one pass): each flow in the regime it
// is fast in, as Papamakarios et al. and Kingma et al. use them.
import * as tf from '@tensorflow/tfjs';
import { iafFlow, mafFlow, IafFlow, MafFlow } from '@meprop/flows';
import type { DensityStatus } from './demo_status';
import { LineChart } from './line_chart';
import { bananaLogProb, sampleBanana } from './banana_target';

export type FlowKind = 'maf' | 'iaf';

export interface DensityRunOptions {
  flow: FlowKind;
  steps: number;
  hiddenUnits: number;
  iterations: number;
  batchSize: number;
}

const EXTENT = 3.5; // the plots show [-EXTENT, EXTENT]^2
const GRID = 48;

function gridPoints(): tf.Tensor2D {
  const pts = new Float32Array(GRID * GRID * 2);
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      pts[2 * (r * GRID + c)] = -EXTENT + ((c + 0.5) * 2 * EXTENT) / GRID;
      pts[2 * (r * GRID + c) + 1] = EXTENT - ((r + 0.5) * 2 * EXTENT) / GRID;
    }
  }
  return tf.tensor2d(pts, [GRID * GRID, 2]);
}

/** Paints exp(logDensity) on the grid as a heatmap, then the sample points. */
function paint(canvas: HTMLCanvasElement, logDensity: Float32Array, samples: Float32Array | null, title: string): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const W = canvas.width;
  const H = canvas.height;
  const cell = W / GRID;
  const dens = Array.from(logDensity, Math.exp);
  const max = Math.max(...dens.filter(Number.isFinite), 1e-12);
  for (let i = 0; i < GRID * GRID; i++) {
    const v = Math.min(1, (dens[i] ?? 0) / max);
    const shade = Math.round(255 * (1 - v));
    ctx.fillStyle = `rgb(${shade},${Math.round(255 - 120 * v)},255)`;
    ctx.fillRect((i % GRID) * cell, Math.floor(i / GRID) * cell, cell + 1, cell + 1);
  }
  if (samples !== null) {
    ctx.fillStyle = 'rgba(214,39,40,0.7)';
    for (let i = 0; i < samples.length; i += 2) {
      const x = ((samples[i] + EXTENT) / (2 * EXTENT)) * W;
      const y = ((EXTENT - samples[i + 1]) / (2 * EXTENT)) * H;
      ctx.fillRect(x - 1, y - 1, 2.5, 2.5);
    }
  }
  ctx.fillStyle = '#111';
  ctx.font = '13px sans-serif';
  ctx.fillText(title, 6, 16);
}

export class DensityView {
  private stopRequested = false;
  private readonly lossChart: LineChart;

  constructor(
    private readonly el: { target: HTMLCanvasElement; flow: HTMLCanvasElement; loss: HTMLCanvasElement },
    private readonly status: DensityStatus,
  ) {
    this.lossChart = new LineChart(el.loss, 'loss (MAF: −log p(x); IAF: KL(q‖p) + const)', 'iteration');
  }

  /** Paints the target density (once a backend is ready). */
  async drawTarget(): Promise<void> {
    const [grid, target] = tf.tidy(() => {
      const g = gridPoints();
      return [g, bananaLogProb(g)];
    });
    paint(this.el.target, (await target.data()) as Float32Array, null, 'target: banana density');
    tf.dispose([grid, target]);
  }

  stop(): void {
    this.stopRequested = true;
  }

  async run(o: DensityRunOptions): Promise<void> {
    this.stopRequested = false;
    Object.assign(this.status, {
      state: 'training',
      flow: o.flow,
      iterations: 0,
      firstLoss: NaN,
      lastLoss: NaN,
      error: undefined,
    });
    await this.drawTarget();
    const common = { eventSize: 2, steps: o.steps, hiddenUnits: [o.hiddenUnits, o.hiddenUnits], seed: 1 };
    const flow: MafFlow | IafFlow = o.flow === 'maf' ? mafFlow(common) : iafFlow(common);
    const lossFn = (): tf.Scalar =>
      tf.tidy(() => {
        if (flow instanceof MafFlow) {
          const x = sampleBanana(o.batchSize);
          return tf.neg(tf.mean(flow.logProb(x))) as tf.Scalar;
        }
        const eps = tf.randomNormal([o.batchSize, 2]) as tf.Tensor2D;
        const { z, logProb } = flow.sample(eps);
        return tf.mean(tf.sub(logProb, bananaLogProb(z))) as tf.Scalar;
      });
    tf.dispose(lossFn()); // builds the flow's weights
    const vars = flow.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = tf.train.adam(2e-3);
    const losses: Array<[number, number]> = [];
    const grid = gridPoints();
    try {
      for (let it = 1; it <= o.iterations && !this.stopRequested; it++) {
        const loss = optimizer.minimize(lossFn, true, vars) as tf.Scalar;
        const v = (await loss.data())[0];
        loss.dispose();
        losses.push([it, v]);
        if (it === 1) this.status.firstLoss = v;
        this.status.lastLoss = v;
        this.status.iterations = it;
        if (it % 25 === 0 || it === o.iterations) {
          this.lossChart.draw([{ name: o.flow.toUpperCase(), color: '#d62728', points: losses }]);
          const [logq, samples] = tf.tidy(() => {
            const eps = tf.randomNormal([400, 2]) as tf.Tensor2D;
            return flow instanceof MafFlow ? [flow.logProb(grid), flow.sample(eps)] : [flow.logProb(grid), flow.sample(eps).z];
          });
          paint(
            this.el.flow,
            (await logq.data()) as Float32Array,
            (await samples.data()) as Float32Array,
            `${o.flow.toUpperCase()}, ${o.steps} steps: density, samples (it. ${it})`,
          );
          tf.dispose([logq, samples]);
          await tf.nextFrame();
        }
      }
      this.status.state = 'done';
    } finally {
      grid.dispose();
      optimizer.dispose();
      flow.dispose();
    }
  }
}
