/** A malformed MNIST IDX file: the message names the file and what is wrong with it. */
export class IdxFormatError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'IdxFormatError';
  }
}
