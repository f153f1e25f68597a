// The keyword task of the LSTM meSimp test: @meprop/bench's (the `simp-lstm` command's), through test-utils.
export { classificationAccuracy, keywordSequences, shuffledOrder } from '@meprop/test-utils';
