import * as os from 'os';
import { nativeOpsSummary } from '../util/backend';
import type { BackendName, Environment } from './schema';

/** The machine and software a run was measured on; `tfjsVersion` comes from the loaded tf.version. */
export function collectEnvironment(backend: BackendName, tfjsVersion: string, now: Date = new Date()): Environment {
  const cpus = os.cpus();
  const nativeOps = backend === 'tensorflow' ? nativeOpsSummary() : null;
  return {
    backend,
    tfjsVersion,
    nodeVersion: process.version,
    cpuModel: cpus.length > 0 ? cpus[0].model.trim() : 'unknown',
    cpuCount: cpus.length,
    platform: os.platform(),
    arch: os.arch(),
    date: now.toISOString(),
    ...(nativeOps !== null ? { nativeOps } : {}),
  };
}
