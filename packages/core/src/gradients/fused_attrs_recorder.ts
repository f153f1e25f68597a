// tf.fused.matMul's gradient is a closure inside tfjs-core, so a registry override for it does not receive
// transposeA/transposeB/activation. We recover them from the forward: while meProp is enabled, the
// `_FusedMatMul` kernel of every registered backend is wrapped to remember the attrs of each output it makes,
// keyed by the output's dataId (which the gradient receives as the saved `y`). A WeakMap: nothing leaks.
// tfjs saves a clone of `y`; on backends whose Identity kernel copies (wasm), the clone has a new dataId,
// so the `Identity` kernel is wrapped too, carrying the record over to the copy. tf.fused.conv2d has the same
// shape (a closure taped as `fusedConv2d__op`), so `FusedConv2D` is recorded the same way.
import * as tf from '@tensorflow/tfjs-core';
import { FusedMatMulKernelAttrs, registeredBackendNames } from '../tfjs_internals';

export type FusedAttrs = FusedMatMulKernelAttrs;

/** The attributes of a tf.fused.conv2d forward, as its `FusedConv2D` kernel received them. */
export interface FusedConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation: string;
}

const FUSED = '_FusedMatMul';
const FUSED_CONV = 'FusedConv2D';
const IDENTITY = 'Identity';
const byDataId = new WeakMap<object, FusedAttrs>();
const convByDataId = new WeakMap<object, FusedConvAttrs>();
const wrapped = new Map<string, tf.KernelConfig>(); // `${kernel}/${backend}` -> original config

function firstInfo(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(out) ? out[0] : out;
}

function wrap(
  kernelName: string,
  backendName: string,
  after: (args: Parameters<tf.KernelFunc>[0], out: tf.TensorInfo) => void,
): void {
  const key = `${kernelName}/${backendName}`;
  if (wrapped.has(key)) return;
  const original = tf.getKernel(kernelName, backendName);
  if (original === undefined) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const out = original.kernelFunc(args) as tf.TensorInfo | tf.TensorInfo[];
    after(args, firstInfo(out));
    return out;
  };
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...original, kernelFunc });
  wrapped.set(key, original);
}

export function installFusedRecorder(): void {
  for (const backendName of registeredBackendNames()) {
    wrap(FUSED, backendName, (args, out) => {
      const attrs = args.attrs as unknown as Partial<FusedAttrs>;
      byDataId.set(out.dataId, {
        transposeA: attrs.transposeA === true,
        transposeB: attrs.transposeB === true,
        activation: attrs.activation ?? 'linear',
      });
    });
    wrap(FUSED_CONV, backendName, (args, out) => {
      const a = args.attrs as unknown as Partial<FusedConvAttrs>;
      convByDataId.set(out.dataId, {
        strides: a.strides ?? 1,
        pad: a.pad ?? 'valid',
        dataFormat: a.dataFormat ?? 'NHWC',
        dilations: a.dilations ?? 1,
        dimRoundingMode: a.dimRoundingMode,
        activation: a.activation ?? 'linear',
      });
    });
    wrap(IDENTITY, backendName, (args, out) => {
      const x = args.inputs.x as tf.TensorInfo | undefined;
      if (x === undefined || out.dataId === x.dataId) return;
      const rec = byDataId.get(x.dataId);
      if (rec !== undefined) byDataId.set(out.dataId, rec);
      const conv = convByDataId.get(x.dataId);
      if (conv !== undefined) convByDataId.set(out.dataId, conv);
    });
  }
}

export function uninstallFusedRecorder(): void {
  for (const original of wrapped.values()) {
    tf.unregisterKernel(original.kernelName, original.backendName);
    tf.registerKernel(original);
  }
  wrapped.clear();
}

export function recordedFusedAttrs(y: tf.Tensor): FusedAttrs | undefined {
  return byDataId.get(y.dataId);
}

export function recordedFusedConvAttrs(y: tf.Tensor): FusedConvAttrs | undefined {
  return convByDataId.get(y.dataId);
}
