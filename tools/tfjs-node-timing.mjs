// Timing on the tensorflow (tfjs-node) backend, for comparison with cpu/wasm.
// Usage: node tools/tfjs-node-timing.mjs [tensorflow|cpu|wasm]   (default tensorflow; needs
// tools/provision-tfjs-node.sh for tensorflow)
//  1. backward of a 32x500 @ 500x500 matmul: dx = dy·Wᵀ and dW = xᵀ·dy, median of 50 after warm-up,
//     with dataSync on both results (explicit matMuls, and the same through tf.grads for reference);
//  2. one Adam step of a 784-500-500-10 relu MLP at batch 32 via optimizer.minimize, median of 20.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const backend = process.argv[2] ?? 'tensorflow';
if (backend === 'tensorflow') require('@tensorflow/tfjs-node');
if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
const tf = require('@tensorflow/tfjs');
if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
  throw new Error(`could not activate backend '${backend}' (active: ${tf.getBackend()})`);
}
await tf.ready();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function time(fn, warmup, reps) {
  for (let i = 0; i < warmup; i++) fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return { median: median(ts), min: Math.min(...ts), max: Math.max(...ts) };
}
const fmt = (r) => `median ${r.median.toFixed(2)} ms (min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)})`;

// 1. matmul backward
const x = tf.randomNormal([32, 500]);
const W = tf.randomNormal([500, 500], 0, 0.05);
const dy = tf.randomNormal([32, 500]);
const bwd = time(
  () => {
    tf.tidy(() => {
      const dx = tf.matMul(dy, W, false, true); // dy·Wᵀ  [32,500]
      const dW = tf.matMul(x, dy, true, false); // xᵀ·dy  [500,500]
      dx.dataSync();
      dW.dataSync();
    });
  },
  10,
  50,
);
const grads = tf.grads((a, b) => tf.matMul(a, b));
const bwdGrads = time(
  () => {
    tf.tidy(() => {
      const [dx, dW] = grads([x, W], dy);
      dx.dataSync();
      dW.dataSync();
    });
  },
  10,
  50,
);

// 2. Adam step, 784-500-500-10 relu MLP, batch 32
const sizes = [784, 500, 500, 10];
const params = [];
for (let i = 0; i + 1 < sizes.length; i++) {
  params.push(tf.variable(tf.randomNormal([sizes[i], sizes[i + 1]], 0, Math.sqrt(2 / sizes[i])), true, `W${i}`));
  params.push(tf.variable(tf.zeros([sizes[i + 1]]), true, `b${i}`));
}
const xb = tf.randomUniform([32, 784]);
const yb = tf.oneHot(tf.randomUniform([32], 0, 10, 'int32'), 10).toFloat();
const opt = tf.train.adam(1e-3);
const loss = () => {
  let h = xb;
  for (let i = 0; i < params.length; i += 2) {
    h = tf.add(tf.matMul(h, params[i]), params[i + 1]);
    if (i + 2 < params.length) h = tf.relu(h);
  }
  return tf.losses.softmaxCrossEntropy(yb, h);
};
let lastLoss = NaN;
const adam = time(
  () => {
    const cost = opt.minimize(loss, true, params);
    lastLoss = cost.dataSync()[0];
    cost.dispose();
  },
  3,
  20,
);

console.log(`backend ${tf.getBackend()} (tfjs ${tf.version.tfjs}, node ${process.version})`);
console.log(`backward 32x500 @ 500x500 (dx=dy·Wᵀ, dW=xᵀ·dy, dataSync), 50 reps: ${fmt(bwd)}`);
console.log(`  same through tf.grads(matMul), 50 reps:                  ${fmt(bwdGrads)}`);
console.log(
  `Adam step 784-500-500-10 relu MLP, batch 32, optimizer.minimize, 20 reps: ${fmt(adam)} (loss ${lastLoss.toFixed(4)})`,
);
console.log(`tensors alive: ${tf.memory().numTensors}`);
