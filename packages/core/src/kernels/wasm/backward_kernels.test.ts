// The backward kernels @meprop/core adds to tfjs's wasm backend, against tfjs's cpu kernels on the same data.
import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';
import '../../index';

type Grads = Float32Array[];

/** Runs `f` on a backend and returns its outputs as plain arrays (the tensors are disposed). */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Grads> {
  await useBackend(backend);
  return tf.tidy(f).map((t) => {
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return v;
  });
}

function expectArraysClose(a: Grads, b: Grads, tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    expect(v.length).toBe(b[i].length);
    let worst = 0;
    for (let j = 0; j < v.length; j++) worst = Math.max(worst, Math.abs(v[j] - b[i][j]) / Math.max(1, Math.abs(b[i][j])));
    expect(worst).toBeLessThan(tol);
  });
}

const data = (shape: number[], seed: number): tf.Tensor => tf.randomUniform(shape, -1, 1, 'float32', seed);

const run = testBackends().includes('wasm') ? describe : describe.skip;

run('wasm backward kernels equal cpu', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });

  const convCases: Array<[string, number[], number[], number | [number, number], 'valid' | 'same' | number]> = [
    ['3x3 valid', [2, 9, 8, 3], [3, 3, 3, 5], 1, 'valid'],
    ['3x3 same', [2, 9, 8, 3], [3, 3, 3, 5], 1, 'same'],
    ['stride 2 same, odd size', [3, 11, 7, 4], [3, 3, 4, 6], 2, 'same'],
    ['stride (2,3) valid, 2x4 filter', [2, 10, 13, 2], [2, 4, 2, 3], [2, 3], 'valid'],
    ['explicit pad 1, 5x5 filter', [1, 8, 8, 3], [5, 5, 3, 2], 1, 1],
    ['1x1 conv', [4, 5, 5, 6], [1, 1, 6, 7], 1, 'valid'],
  ];
  it.each(convCases)('Conv2DBackpropFilter and the conv2d gradient: %s', async (_name, xShape, fShape, strides, pad) => {
    const f = (): tf.Tensor[] => {
      const x = data(xShape, 1) as tf.Tensor4D;
      const w = data(fShape, 2) as tf.Tensor4D;
      const y = tf.conv2d(x, w, strides, pad);
      const dy = data(y.shape, 3);
      const direct = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides,
        pad,
        dataFormat: 'NHWC',
        filterShape: fShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)),
      )([x, w]);
      return [direct, gx, gw];
    };
    expectArraysClose(await on('wasm', f), await on('cpu', f));
  });

  it('the fused conv2d gradient (bias, relu)', async () => {
    const f = (): tf.Tensor[] => {
      const x = data([2, 7, 7, 3], 4) as tf.Tensor4D;
      const w = data([3, 3, 3, 4], 5) as tf.Tensor4D;
      const bias = data([4], 6);
      const dy = data([2, 7, 7, 4], 7);
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.conv2d({
              x: a as tf.Tensor4D,
              filter: b as tf.Tensor4D,
              bias: c,
              strides: 1,
              pad: 'same',
              activation: 'linear',
            }),
            dy,
          ),
        ),
      )([x, w, bias]);
    };
    expectArraysClose(await on('wasm', f), await on('cpu', f));
  });

  const depthwiseCases: Array<[string, number[], number[], number, 'valid' | 'same', number]> = [
    ['multiplier 1, same', [2, 8, 7, 3], [3, 3, 3, 1], 1, 'same', 1],
    ['multiplier 2, stride 2, valid', [2, 9, 9, 3], [3, 3, 3, 2], 2, 'valid', 1],
    ['multiplier 3, dilation 2', [1, 10, 9, 2], [3, 3, 2, 3], 1, 'same', 2],
  ];
  it.each(depthwiseCases)('DepthwiseConv2dNative gradients: %s', async (_name, xShape, fShape, strides, pad, dilation) => {
    // The kernels directly (tfjs's gradient refuses dilations > 1, the kernels take them), then the gradients.
    const kernels = (
      dilationUsed: number,
      filterShape: number[],
      filter: tf.Tensor,
      x: tf.Tensor,
      dy: tf.Tensor,
    ): tf.Tensor[] => {
      const attrs = { strides, pad, dilations: dilationUsed } as unknown as tf.NamedAttrMap;
      return [
        tf
          .engine()
          .runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor,
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape }) as tf.Tensor,
      ];
    };
    const operands = (): { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D } => {
      const x = data(xShape, 8) as tf.Tensor4D;
      const w = data(fShape, 9) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(x, w, strides, pad, 'NHWC', dilation);
      return { x, w, dy: data(y.shape, 10) as tf.Tensor4D };
    };
    const wasm = await on('wasm', () => {
      const { x, w, dy } = operands();
      const out = kernels(dilation, fShape, w, x, dy);
      if (dilation > 1) return out;
      return [
        ...out,
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)),
        )([x, w]),
      ];
    });
    const cpu = await on('cpu', () => {
      const { x, w, dy } = operands();
      if (dilation === 1) {
        return [
          ...kernels(1, fShape, w, x, dy),
          ...tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)),
          )([x, w]),
        ];
      }
      // tfjs's cpu kernels ignore dilations: compare with the equivalent undilated filter (zeros in between).
      const [FH, FW, CI, M] = fShape;
      const eH = (FH - 1) * dilation + 1;
      const eW = (FW - 1) * dilation + 1;
      const wv = w.dataSync();
      const big = new Float32Array(eH * eW * CI * M);
      for (let i = 0; i < FH; i++)
        for (let j = 0; j < FW; j++)
          for (let c = 0; c < CI * M; c++) big[(i * dilation * eW + j * dilation) * CI * M + c] = wv[(i * FW + j) * CI * M + c];
      const [dx, dWbig] = kernels(1, [eH, eW, CI, M], tf.tensor4d(big, [eH, eW, CI, M]), x, dy);
      const gv = dWbig.dataSync();
      const dW = new Float32Array(FH * FW * CI * M);
      for (let i = 0; i < FH; i++)
        for (let j = 0; j < FW; j++)
          for (let c = 0; c < CI * M; c++) dW[(i * FW + j) * CI * M + c] = gv[(i * dilation * eW + j * dilation) * CI * M + c];
      return [dx, tf.tensor4d(dW, fShape as [number, number, number, number])];
    });
    expectArraysClose(wasm, cpu);
  });

  it('UnsortedSegmentSum and the gradient of gather (float32 and int32, dropped negative ids)', async () => {
    const f = (): tf.Tensor[] => {
      const x = data([6, 2, 3], 11);
      const ids = tf.tensor1d([3, 0, 3, -1, 1, 3], 'int32');
      const xi = tf.tensor2d(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [3, 2],
        'int32',
      );
      const table = data([10, 4], 12);
      const idx = tf.tensor2d(
        [
          [1, 7, 1],
          [0, 9, 7],
        ],
        [2, 3],
        'int32',
      );
      const dyG = data([2, 3, 4], 13);
      const gTable = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), dyG)))(table);
      return [
        tf.unsortedSegmentSum(x, ids, 5),
        tf.cast(tf.unsortedSegmentSum(xi, tf.tensor1d([1, 1, 0], 'int32'), 2), 'float32'),
        gTable,
      ];
    };
    expectArraysClose(await on('wasm', f), await on('cpu', f));
  });

  it('a model with Embedding, Conv1D, SeparableConv2D and Conv2D layers trains on wasm without leaking', async () => {
    await useBackend('wasm');
    const text = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 12 }),
        tf.layers.conv1d({ filters: 5, kernelSize: 3, activation: 'relu' }),
        tf.layers.globalMaxPool1d({}),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const image = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, activation: 'relu' }),
        tf.layers.separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 2, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    text.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    image.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const tokens = tf.randomUniform([16, 12], 0, 20, 'int32');
    const labels = tf.cast(tf.greater(tf.sum(tokens, 1, true), 120), 'float32');
    const images = tf.randomUniform([16, 10, 10, 2], 0, 1, 'float32', 14);
    const classes = tf.oneHot(tf.randomUniform([16], 0, 2, 'int32', 15), 2);
    const losses: number[] = [];
    const step = async (): Promise<void> => {
      const a = (await text.trainOnBatch(tokens, labels)) as number;
      const b = (await image.trainOnBatch(images, classes)) as number;
      losses.push(a + b);
    };
    await step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 15; i++) await step();
    expect(tf.memory().numTensors).toBe(before);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    tf.dispose([tokens, labels, images, classes]);
    text.dispose();
    image.dispose();
  });
});
