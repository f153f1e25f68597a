// The `model` command's chart: speed-up of a training step over plain tfjs, per optimizer and meProp variant.
import type { BenchResult } from '../results/schema';
import type { ChartSpec } from './chart_specs';

export function modelSpeedups(r: BenchResult): ChartSpec | null {
  const rows = r.model?.optimizers ?? [];
  const values = rows.flatMap((o) => [
    ...(o.speedup === null ? [] : [{ optimizer: o.optimizer, variant: 'meProp + sparse optimizer', speedup: o.speedup }]),
    ...(o.speedupDenseOptimizer === null
      ? []
      : [{ optimizer: o.optimizer, variant: 'meProp + tf.train optimizer', speedup: o.speedupDenseOptimizer }]),
  ]);
  if (values.length === 0) return null;
  return {
    name: 'model-speedups',
    title: `Training-step speed-up over plain tfjs, ${r.model?.name ?? 'model'}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: `Training-step speed-up over plain tfjs (${r.environment.backend}), ${r.model?.name ?? 'model'}`,
      width: { step: 28 },
      height: 220,
      data: { values },
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: { field: 'optimizer', type: 'nominal', title: null },
            xOffset: { field: 'variant', type: 'nominal' },
            y: { field: 'speedup', type: 'quantitative', title: 'plain ms / meProp ms' },
            color: { field: 'variant', type: 'nominal', title: null },
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
      ],
    },
  };
}
