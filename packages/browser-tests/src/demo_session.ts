// Opens the built demo (packages/demo/dist) in headless Chromium, served from 127.0.0.1 like any static host.
import { existsSync } from 'fs';
import { dirname, join } from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import { serveStatic, StaticServer } from './static_server';

export const DEMO_DIST = join(dirname(require.resolve('@meprop/demo/package.json')), 'dist');

export interface DemoSession {
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/** `query` is the demo's URL parameters, e.g. 'backend=webgl&train=1000&epochs=1&autostart=1'. */
export async function openDemo(query: string, viewport = { width: 1040, height: 900 }): Promise<DemoSession> {
  if (!existsSync(join(DEMO_DIST, 'index.html')))
    throw new Error(`${DEMO_DIST}/index.html is missing: build the demo first (npm run build)`);
  const server: StaticServer = await serveStatic({ '/': DEMO_DIST });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    // Offline: anything not served by the app itself is refused.
    await page.route('**/*', (route) => (route.request().url().startsWith(server.url) ? route.continue() : route.abort()));
    await page.goto(`${server.url}/index.html?${query}`);
    const b = browser;
    return {
      page,
      errors,
      close: async () => {
        await b.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

/** Coloured pixels of a chart canvas: how many are close to the given RGB colour. */
export async function countPixels(page: Page, canvasId: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ([id, [r, g, b]]) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) n++;
      return n;
    },
    [canvasId, rgb] as const,
  );
}

/** Polls `window.mepropDemo[view].state` until 'done' or 'error'; fails at once on a page error. */
export async function waitForRun(s: DemoSession, view: 'mnist' | 'density', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.errors.length > 0) throw new Error(`demo page errors: ${s.errors.join('; ')}`);
    const state = await s.page.evaluate(
      (v) => (globalThis as unknown as { mepropDemo?: Record<string, { state: string }> }).mepropDemo?.[v]?.state,
      view,
    );
    if (state === 'done' || state === 'error') return;
    if (Date.now() > deadline) throw new Error(`demo ${view} run not finished after ${timeoutMs} ms (state ${state})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
