// What can be checked of the GPU kernels without a GPU (jest runs in Node): they are registered for webgl and
// webgpu under core's kernel names, and every program lays its output out as the cpu kernels do. Their
// numbers are checked against the cpu reference in headless Chromium: `node tools/browser-bench/run.mjs check`.
import * as tf from '@tensorflow/tfjs';
import '../../index';
import {
  MePropGatherColumns,
  MePropScatterColumns,
  MePropSelect,
  MePropSparseGradA,
  MePropSparseGradB,
} from '../../kernel_names';
import type { GpuPrograms } from './gpu_programs';
import { webglPrograms } from '../webgl/programs';
import { webgpuPrograms } from '../webgpu/programs';

const backends: Array<[string, GpuPrograms]> = [
  ['webgl', webglPrograms],
  ['webgpu', webgpuPrograms],
];

describe.each(backends)('meProp kernels for %s', (backend, programs) => {
  it('are registered under core kernel names', () => {
    for (const name of [MePropSelect, MePropSparseGradA, MePropSparseGradB, MePropScatterColumns, MePropGatherColumns]) {
      expect(tf.getKernel(name, backend)).toBeDefined();
    }
  });

  it('lay out da, db and the scattered columns like a and b, for every transpose', () => {
    const [M, K, N, k] = [5, 7, 11, 3];
    const shape = (p: object) => (p as { outputShape: number[] }).outputShape;
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        expect(shape(programs.sparseGradA(M, K, N, k, tA, tB))).toEqual(tA ? [K, M] : [M, K]);
        expect(shape(programs.sparseGradBColumns(M, K, N, tA, tB))).toEqual(tB ? [N, K] : [K, N]);
      }
      expect(shape(programs.scatterColumns(k, K, N, tA))).toEqual(tA ? [N, K] : [K, N]);
    }
    expect(shape(programs.keptIndices(M, N, k, 4))).toEqual([M, k]);
    expect(shape(programs.blockCounts(M, 130, 64))).toEqual([M, 3]);
    expect(shape(programs.columnEntries(M, N, k))).toEqual([1, M * k]);
    expect(shape(programs.blockSums(130, 64))).toEqual([1, 3]);
    // The optional pair programs come together, and lay db out like sparseGradBColumns.
    expect(programs.columnEntryPairs === undefined).toBe(programs.sparseGradBPairs === undefined);
    if (programs.columnEntryPairs !== undefined && programs.sparseGradBPairs !== undefined) {
      expect(shape(programs.columnEntryPairs(M, N, k))).toEqual([2, M * k]);
      for (const tA of [false, true]) {
        for (const tB of [false, true]) expect(shape(programs.sparseGradBPairs(M, K, N, tA, tB))).toEqual(tB ? [N, K] : [K, N]);
      }
    }
  });
});

describe('webgpu programs', () => {
  it('put every shape constant baked into the source into the pipeline cache key', () => {
    // tfjs-backend-webgpu keys compiled pipelines on shaderKey plus ranks and dtypes only.
    const key = (p: object) => (p as { shaderKey: string }).shaderKey;
    expect(key(webgpuPrograms.sparseGradA(5, 7, 11, 3, false, true))).not.toEqual(
      key(webgpuPrograms.sparseGradA(5, 7, 12, 3, false, true)),
    );
    expect(key(webgpuPrograms.kthLargest(4, 10, 3))).not.toEqual(key(webgpuPrograms.kthLargest(4, 10, 2)));
    expect(key(webgpuPrograms.scatterColumns(3, 7, 11, true))).not.toEqual(key(webgpuPrograms.scatterColumns(3, 7, 11, false)));
  });
});
