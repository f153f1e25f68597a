// A small canvas line chart (no charting library): several named series of (x, y) points, autoscaled axes.
export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export class LineChart {
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly title: string,
    private readonly xLabel: string,
  ) {
    const ctx = canvas.getContext('2d');
    if (ctx === null) throw new Error('LineChart: canvas has no 2d context');
    this.ctx = ctx;
  }

  draw(series: Series[]): void {
    const { ctx, canvas } = this;
    const W = canvas.width;
    const H = canvas.height;
    const pad = { l: 48, r: 10, t: 22, b: 28 };
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = '#222';
    ctx.font = '13px sans-serif';
    ctx.fillText(this.title, pad.l, 15);
    const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (all.length === 0) return;
    const xs = all.map((p) => p[0]);
    const ys = all.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1e-9)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    const px = (x: number): number => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
    const py = (y: number): number => H - pad.b - ((y - y0) / (y1 - y0)) * (H - pad.t - pad.b);
    ctx.strokeStyle = '#bbb';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(pad.l, pad.t);
    ctx.lineTo(pad.l, H - pad.b);
    ctx.lineTo(W - pad.r, H - pad.b);
    ctx.stroke();
    ctx.fillStyle = '#555';
    ctx.font = '11px sans-serif';
    for (const y of [y0, (y0 + y1) / 2, y1]) ctx.fillText(formatTick(y), 2, py(y) + 4);
    ctx.fillText(`${this.xLabel} ${formatTick(x1)}`, W - pad.r - 90, H - 8);
    series.forEach((s, i) => {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      s.points.forEach(([x, y], j) => (j === 0 ? ctx.moveTo(px(x), py(y)) : ctx.lineTo(px(x), py(y))));
      ctx.stroke();
      ctx.fillStyle = s.color;
      ctx.fillText(s.name, pad.l + 8 + i * 150, pad.t + 12);
    });
  }
}

function formatTick(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}
