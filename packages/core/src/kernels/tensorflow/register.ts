// meProp kernels for tfjs-node's `tensorflow` backend: TensorFlow ops run through tfjs-node's binding.
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { tensorflowConvUnifiedConfigs } from './conv_unified';
import { tensorflowPerExampleConfigs } from './per_example_products';
import { tensorflowSelectConfigs } from './select';
import { tensorflowUnifiedBackwardConfigs } from './unified_backward';
import { tensorflowUnifiedConfigs } from './unified_products';

export const tensorflowKernelConfigs: KernelConfig[] = [
  ...tensorflowSelectConfigs,
  ...tensorflowUnifiedConfigs,
  ...tensorflowUnifiedBackwardConfigs,
  ...tensorflowPerExampleConfigs,
  ...tensorflowConvUnifiedConfigs,
];
