// Flattens a result document into named metrics (with the direction each improves in) for `compare`.
import type { BenchResult, Metric } from './schema';
import { simpMetrics } from './simp_figures';
import { whereMetrics } from './where_figures';

function push(out: Metric[], name: string, value: number | null | undefined, better: Metric['better'], unit: string): void {
  if (typeof value === 'number' && Number.isFinite(value)) out.push({ name, value, better, unit });
}

export function metricsOf(result: BenchResult): Metric[] {
  const out: Metric[] = [];
  for (const r of result.mnist?.runs ?? []) {
    const id = `mnist.${r.optimizer}.${r.method}${r.k === null ? '' : `.k${r.k}`}`;
    push(out, `${id}.testAccuracy`, r.testAccuracy, 'higher', 'fraction');
    push(out, `${id}.forwardMs`, r.timing.forwardMs, 'lower', 'ms');
    push(out, `${id}.backwardMs`, r.timing.backwardMs, 'lower', 'ms');
    push(out, `${id}.updateMs`, r.timing.updateMs, 'lower', 'ms');
    push(out, `${id}.stepMs`, r.timing.stepMs, 'lower', 'ms');
    push(out, `${id}.trainSeconds`, r.timing.trainSeconds, 'lower', 's');
    if (r.speedup) {
      push(out, `${id}.speedup.backward`, r.speedup.backward, 'higher', 'x');
      push(out, `${id}.speedup.update`, r.speedup.update, 'higher', 'x');
      push(out, `${id}.speedup.step`, r.speedup.step, 'higher', 'x');
      push(out, `${id}.speedup.train`, r.speedup.train, 'higher', 'x');
    }
  }
  if (result.kSweep) {
    push(out, 'k-sweep.plain.testAccuracy', result.kSweep.baselineAccuracy, 'higher', 'fraction');
    for (const p of result.kSweep.points) {
      push(out, `k-sweep.${p.selection}.k${p.k}.testAccuracy`, p.testAccuracy, 'higher', 'fraction');
    }
  }
  for (const c of result.kernels?.cases ?? []) {
    const id = `kernels.${c.label}.${c.mode}`;
    push(out, `${id}.plainMs`, c.plainMs, 'lower', 'ms');
    push(out, `${id}.mePropMs`, c.mePropMs, 'lower', 'ms');
    push(out, `${id}.speedup`, c.speedup, 'higher', 'x');
  }
  for (const r of result.iaf?.runs ?? []) {
    push(out, `iaf.${r.posterior}.testElbo`, r.testElbo, 'higher', 'nats');
    push(out, `iaf.${r.posterior}.testIwLogLik`, r.testIwLogLik, 'higher', 'nats');
    push(out, `iaf.${r.posterior}.secondsPerEpoch`, r.secondsPerEpoch, 'lower', 's');
  }
  for (const o of result.model?.optimizers ?? []) {
    const id = `model.${o.optimizer}`;
    push(out, `${id}.plainMs`, o.plainMs, 'lower', 'ms');
    push(out, `${id}.mePropMs`, o.mePropMs, 'lower', 'ms');
    push(out, `${id}.mePropSparseMs`, o.mePropSparseMs, 'lower', 'ms');
    push(out, `${id}.speedup`, o.speedup, 'higher', 'x');
    push(out, `${id}.speedupDenseOptimizer`, o.speedupDenseOptimizer, 'higher', 'x');
  }
  for (const m of result.ci?.figures ?? []) push(out, `ci.${m.name}`, m.value, m.better, m.unit);
  out.push(...simpMetrics(result));
  out.push(...whereMetrics(result));
  return out;
}
