// Parser for the IDX format of the MNIST files (big-endian header, then unsigned bytes):
//   images: magic 0x00000803, count, rows, cols, then count*rows*cols pixels
//   labels: magic 0x00000801, count, then count labels
import { IdxFormatError } from './idx_format_error';

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
export const MNIST_SIDE = 28;

export interface IdxImages {
  /** n * rows * cols intensities scaled to [0, 1]. */
  images: Float32Array;
  n: number;
  rows: number;
  cols: number;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function readHeader(buf: Uint8Array, file: string, words: number, magic: number): number[] {
  const need = 4 * words;
  if (buf.length < need) {
    throw new IdxFormatError(file, `truncated at byte ${buf.length}: the header needs ${need} bytes`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const header: number[] = [];
  for (let i = 0; i < words; i++) header.push(view.getUint32(4 * i, false));
  if (header[0] !== magic) {
    throw new IdxFormatError(file, `bad magic number ${hex(header[0])}, expected ${hex(magic)}`);
  }
  return header;
}

function checkLength(buf: Uint8Array, file: string, expected: number, what: string): void {
  if (buf.length < expected) {
    throw new IdxFormatError(
      file,
      `truncated at byte ${buf.length}: the header announces ${what}, which needs ${expected} bytes`,
    );
  }
  if (buf.length > expected) {
    throw new IdxFormatError(file, `${buf.length - expected} unexpected bytes after the ${what} (expected ${expected} bytes)`);
  }
}

/** Parses an IDX image file (already decompressed). `expectSide` checks the 28x28 MNIST dimensions. */
export function parseIdxImages(buf: Uint8Array, file: string, expectSide: number = MNIST_SIDE): IdxImages {
  const [, n, rows, cols] = readHeader(buf, file, 4, IDX_IMAGES_MAGIC);
  if (rows !== expectSide || cols !== expectSide) {
    throw new IdxFormatError(file, `wrong image dimensions ${rows}x${cols}, expected ${expectSide}x${expectSide}`);
  }
  const pixels = rows * cols;
  checkLength(buf, file, 16 + n * pixels, `${n} images of ${rows}x${cols}`);
  const images = new Float32Array(n * pixels);
  for (let i = 0; i < images.length; i++) images[i] = buf[16 + i] / 255;
  return { images, n, rows, cols };
}

/** Parses an IDX label file (already decompressed); every label must be a digit 0..9. */
export function parseIdxLabels(buf: Uint8Array, file: string): Int32Array {
  const [, n] = readHeader(buf, file, 2, IDX_LABELS_MAGIC);
  checkLength(buf, file, 8 + n, `${n} labels`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = buf[8 + i];
    if (v > 9) {
      throw new IdxFormatError(file, `label ${v} at index ${i} (byte ${8 + i}) is out of range, expected 0..9`);
    }
    labels[i] = v;
  }
  return labels;
}
