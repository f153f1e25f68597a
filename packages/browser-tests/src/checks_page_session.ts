// Node side of the checks page: bundle it once, serve it with wasm's binaries, open it in headless Chromium.
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import type { Browser, Page } from 'playwright-core';
import { bundleChecksPage } from './bundle';
import { launchChromium } from './chromium';
import type { ChecksApi } from './page/check_result';
import { serveStatic, StaticServer } from './static_server';

export const WASM_DIST = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));

/** Backends to test: MEPROP_BROWSER_BACKENDS=webgl,webgpu,wasm,cpu (the default); unknown names throw. */
export function browserBackends(): string[] {
  const known = ['webgl', 'webgpu', 'wasm', 'cpu'];
  const names = (process.env.MEPROP_BROWSER_BACKENDS ?? known.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!known.includes(n))
      throw new Error(`MEPROP_BROWSER_BACKENDS: unknown backend '${n}' (expected one of ${known.join(', ')})`);
  return names;
}

export class ChecksPageSession {
  private constructor(
    private readonly dir: string,
    private readonly server: StaticServer,
    readonly browser: Browser,
  ) {}

  static async start(): Promise<ChecksPageSession> {
    const dir = mkdtempSync(join(tmpdir(), 'meprop-checks-'));
    await bundleChecksPage(dir);
    const server = await serveStatic({ '/': dir, '/wasm/': WASM_DIST });
    return new ChecksPageSession(dir, server, await launchChromium());
  }

  /** A fresh page with the checks loaded; page errors and console errors are collected in `errors`. */
  async open(): Promise<{ page: Page; errors: string[] }> {
    const page = await this.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${this.server.url}/index.html`);
    await page.waitForFunction(() => (globalThis as unknown as { mepropChecks?: ChecksApi }).mepropChecks !== undefined);
    return { page, errors };
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Calls one of the page's checks: `call(page, 'runGradientChecks', 'webgl')`. */
export async function callChecks<K extends keyof ChecksApi>(
  page: Page,
  name: K,
  ...args: Parameters<ChecksApi[K]>
): Promise<Awaited<ReturnType<ChecksApi[K]>>> {
  return page.evaluate(
    ([n, a]) => {
      const api = (globalThis as unknown as { mepropChecks: ChecksApi }).mepropChecks;
      return (api[n as K] as (...x: unknown[]) => Promise<unknown>)(...(a as unknown[]));
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<ChecksApi[K]>>>;
}
