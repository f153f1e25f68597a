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
export type {
  ConvLayerArgs,
  DepthwiseConv2DLayerArgs,
  MePropConv1DArgs,
  MePropConv2DArgs,
  MePropDepthwiseConv2DArgs,
  MePropSeparableConv2DArgs,
  SeparableConvLayerArgs,
} from './me_prop_conv';
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
export type {
  MePropGRUArgs,
  MePropGRUCellArgs,
  MePropLSTMArgs,
  MePropLSTMCellArgs,
  MePropSimpleRNNArgs,
  MePropSimpleRNNCellArgs,
} from './recurrent';
export { LazyOptimizer } from './optimizers/lazy_optimizer';
export type { NamedTensor } from './optimizers/lazy_optimizer';
export { SparseAdamOptimizer, sparseAdam } from './optimizers/sparse_adam';
export { SparseAdagradOptimizer, sparseAdagrad } from './optimizers/sparse_adagrad';
export { SparseSgdOptimizer, sparseSgd } from './optimizers/sparse_sgd';
export { MePropDenseForward, MePropForwardMatMul, MePropLazyUpdate } from './kernels/kernel_names';
export { mePropify } from './me_propify';
export type { MePropifyConvertedLayer, MePropifyOptions, MePropifyReport } from './me_propify';
export { MePropStatsCallback } from './stats_callback';
export type { MePropEpochStats, MePropStatsCallbackOptions } from './stats_callback';
// folderIO (Node's fs) is exported from '@meprop/layers/node' (src/node.ts), not from here.
export type { DenseLayerArgs } from './tfjs_internals';
export { ActivenessTracker, trackActiveness } from './me_simp/activeness';
export type { ActivenessMap, LayerActiveness } from './me_simp/activeness';
export { meSimplify } from './me_simp/me_simplify';
export type { LayerSimplification, MeSimplifyOptions, MeSimplifyReport } from './me_simp/me_simplify';
export { distillationTargets, simplifyInCycles } from './me_simp/simplify_cycles';
export type { CycleEnd, DistillOptions, SimplifyCyclesOptions, TrainHelpers } from './me_simp/simplify_cycles';
