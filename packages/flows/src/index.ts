// @meprop/flows: MADE, IAF, MAF and a VAE with an IAF posterior for TensorFlow.js.
export { FLOW_ACTIVATIONS, type FlowActivation } from './activation';
export { type InputOrder, resolveOrder, madeMasks, inputDegrees, hiddenDegrees } from './masks';
export { MaskedDense, maskedDense, maskedLinear, type MaskedDenseArgs } from './masked_dense';
export {
  AutoregressiveNetwork,
  autoregressiveNetwork,
  type AutoregressiveNetworkArgs,
  type MadeSpecArgs,
  type MadeSpec,
} from './autoregressive_network';
export { type FlowResult } from './iaf_transform';
export { IafStep, iafStep, type IafStepArgs, DEFAULT_FORGET_BIAS } from './iaf_step';
export { IafFlow, iafFlow, type IafFlowArgs } from './iaf_flow';
export { MafFlow, mafFlow, type MafFlowArgs } from './maf_flow';
export { standardNormalLogProb } from './normal';
export { gaussianEncoder, type GaussianEncoderArgs } from './gaussian_encoder';
export { bernoulliDecoder, bernoulliLogProb, type BernoulliDecoderArgs } from './bernoulli_decoder';
export { Vae, vae, type VaeArgs, type IafPosteriorArgs } from './vae';
export { trainVae, evaluateVae, type Rows, type TrainVaeOptions, type EvaluateVaeOptions } from './train_vae';
export { type FlowLayerArgs } from './layer_args';
