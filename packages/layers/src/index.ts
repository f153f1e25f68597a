// @meprop/layers: meProp for tfjs-layers models. Importing this module registers its layer and optimizer
// classes with tfjs's serialization (needed before tf.loadLayersModel of a saved meProp model) and its
// cpu/wasm kernels.
import './kernels/register_all_kernels';

export { MePropDense, mePropDense } from './me_prop_dense';
export type { MePropDenseArgs } from './me_prop_dense';
export type { MePropLayerArgs } from './me_prop_args';
export {
  MePropConv1D,
  MePropConv2D,
  MePropDepthwiseConv2D,
  MePropSeparableConv2D,
  mePropConv1d,
  mePropConv2d,
  mePropDepthwiseConv2d,
  mePropSeparableConv2d,
} from './me_prop_conv';
export type { MePropConv1DArgs, MePropConv2DArgs, MePropDepthwiseConv2DArgs, MePropSeparableConv2DArgs } from './me_prop_conv';
export {
  MePropGRU,
  MePropGRUCell,
  MePropLSTM,
  MePropLSTMCell,
  MePropSimpleRNN,
  MePropSimpleRNNCell,
  mePropGRU,
  mePropGRUCell,
  mePropLSTM,
  mePropLSTMCell,
  mePropSimpleRNN,
  mePropSimpleRNNCell,
} from './recurrent';
export type { MePropGRUArgs, MePropGRUCellArgs, MePropLSTMArgs, MePropLSTMCellArgs, MePropSimpleRNNArgs, MePropSimpleRNNCellArgs } from './recurrent';
export { LazyOptimizer } from './optimizers/lazy_optimizer';
export type { NamedTensor } from './optimizers/lazy_optimizer';
export { SparseAdamOptimizer, sparseAdam } from './optimizers/sparse_adam';
export { SparseAdagradOptimizer, sparseAdagrad } from './optimizers/sparse_adagrad';
export { SparseSgdOptimizer, sparseSgd } from './optimizers/sparse_sgd';
export { MePropLazyUpdate } from './kernels/kernel_names';
export { mePropify } from './me_propify';
export type { MePropifyOptions, MePropifyReport } from './me_propify';
export { MePropStatsCallback } from './stats_callback';
export type { MePropEpochStats, MePropStatsCallbackOptions } from './stats_callback';
export { folderIO } from './io/folder_io';
export type { FolderIOHandler } from './io/folder_io';
