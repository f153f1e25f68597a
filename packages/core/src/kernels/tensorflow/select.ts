// meProp's selection on the `tensorflow` backend as TensorFlow ops: no read of dy back to JavaScript.
// Unified: Σ|dy| over the rows, TopKV2, one gather. Per-example: TopKV2 of |dy| per row, a batched gather.
// Random: the indices come from the host generator (they do not depend on dy), the values are gathered.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MePropSelect, MePropSelectAttrs, MePropSelectColumns, MePropSelectColumnsAttrs } from '../../kernel_names';
import { selectKept } from '../host/top_k';
import { withNativeScope } from './native_ops';

const selectColumns: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const { k } = attrs as unknown as MePropSelectColumnsAttrs;
  return withNativeScope(backend, (s) => {
    const d = s.input(dy);
    // NaN columns rank first through the keys' bit patterns (see NativeScope.rankKeys): no separate check.
    const [, idx] = s.topK(s.columnScore(d).id, k, 'int32');
    const values = s.gather(d, idx.id, 1);
    return [s.output(idx), s.output(values)];
  });
};

const select: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy as TensorInfo;
  const { k, mode, seed } = attrs as unknown as MePropSelectAttrs;
  const [M, N] = dy.shape;
  return withNativeScope(backend, (s) => {
    const d = s.input(dy);
    let idx: number;
    let idxOut: TensorInfo | null = null;
    if (mode === 'random') {
      const hostIdx = new Int32Array(M * k);
      selectKept(new Float32Array(M * N), M, N, k, 'random', seed, hostIdx, new Float32Array(M * k));
      idx = s.int32([M, k], hostIdx);
    } else if (mode === 'unified') {
      const [, shared] = s.topK(s.columnScore(d).id, k, 'int32');
      const tiled = s.op1(
        'BroadcastTo',
        [s.type('T', 'int32'), s.type('Tidx', 'int32')],
        [s.reshape(shared.id, [1, k], 'int32').id, s.constInt32([2], [M, k])],
      );
      idx = tiled.id;
      idxOut = s.output(tiled);
    } else {
      const [, rowIdx] = s.topK(s.magnitude(d).id, k, 'int32');
      idx = rowIdx.id;
      idxOut = s.output(rowIdx);
    }
    const values = s.gather(d, idx, 1, 1);
    if (idxOut === null) {
      // The host-made indices are a scope temporary: hand tfjs its own copy of the handle's data.
      const copy = s.op1('Identity', [s.type('T', 'int32')], [idx]);
      idxOut = s.output(copy);
    }
    return [idxOut, s.output(values)];
  });
};

export const tensorflowSelectConfigs: KernelConfig[] = [
  { kernelName: MePropSelectColumns, backendName: 'tensorflow', kernelFunc: selectColumns },
  { kernelName: MePropSelect, backendName: 'tensorflow', kernelFunc: select },
];
