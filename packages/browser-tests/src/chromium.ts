// Launches the system Chromium headless (never a downloaded browser) with the flags that give tfjs a WebGL
// context and a WebGPU adapter without a GPU: both run on SwiftShader, a CPU emulation of a GPU.
import { existsSync } from 'fs';
import { chromium, Browser } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--no-sandbox', // CI runs as root, where Chromium's sandbox refuses to start
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
];

/** `CHROMIUM_PATH` or /usr/bin/chromium (Debian's `chromium` package). */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at '${path}': install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return path;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
}
