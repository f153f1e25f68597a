// Entry of the test page (bundled with esbuild from the packages' built ES modules): registers the four
// backends, serves wasm's binaries from the page's own origin, and exposes the checks to the Node test.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { runConvChecks } from './conv_checks';
import { runFitCheck } from './fit_check';
import { runGradientChecks } from './gradient_checks';
import { runOptimizerCheck } from './optimizer_check';
import type { ChecksApi } from './check_result';

setWasmPaths('/wasm/'); // the test server mounts @tensorflow/tfjs-backend-wasm/dist here: no network

async function backendInfo(): Promise<Record<string, string>> {
  const nav = navigator as Navigator & { gpu?: { requestAdapter(): Promise<object | null> } };
  const adapter = nav.gpu ? await nav.gpu.requestAdapter() : null;
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2');
  const dbg = gl?.getExtension('WEBGL_debug_renderer_info');
  return {
    webglRenderer: gl && dbg ? String(gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : 'none',
    webgpuAdapter: adapter ? 'present' : 'none',
    tfjs: tf.version.tfjs,
  };
}

declare global {
  interface Window {
    mepropChecks: ChecksApi;
  }
}
window.mepropChecks = { runGradientChecks, runConvChecks, runFitCheck, runOptimizerCheck, backendInfo };
