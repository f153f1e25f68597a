// Backend picker: registers webgl, webgpu, wasm and cpu, serves wasm's binaries from the app, and describes
// what the chosen backend really runs on (SwiftShader is a CPU emulation of a GPU: its timings are not a GPU's).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

export const BACKENDS = ['webgl', 'webgpu', 'wasm', 'cpu'] as const;
export type DemoBackend = (typeof BACKENDS)[number];

setWasmPaths(new URL('wasm/', document.baseURI).href);

export function isDemoBackend(name: string): name is DemoBackend {
  return (BACKENDS as readonly string[]).includes(name);
}

/** Activates a backend; throws with the reason if the browser cannot run it (e.g. no WebGPU adapter). */
export async function useBackend(name: DemoBackend): Promise<void> {
  if (name === 'webgpu' && !('gpu' in navigator)) throw new Error('webgpu: this browser has no navigator.gpu');
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`backend '${name}' could not be initialized (active: ${tf.getBackend()})`);
  await tf.ready();
}

/** e.g. 'webgl on ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device ...))'. */
export function describeBackend(name: DemoBackend): string {
  if (name === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'unknown renderer';
    return `webgl on ${renderer}${/swiftshader/i.test(renderer) ? ' (a CPU emulation of a GPU: not GPU timings)' : ''}`;
  }
  if (name === 'webgpu') return 'webgpu (in headless Chromium without a GPU this is SwiftShader, a CPU emulation)';
  if (name === 'wasm') return 'wasm (XNNPACK, SIMD when the browser has it)';
  return 'cpu (plain JavaScript)';
}
