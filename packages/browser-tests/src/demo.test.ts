// The demo as a user opens it: it loads offline (everything from its own origin), trains plain and meProp
// for one epoch on webgl, and draws the loss and accuracy charts; its flows view fits the banana density.
import type { DemoStatus } from '../../demo/src/demo_status';
import { countPixels, DemoSession, openDemo, waitForRun } from './demo_session';

const PLAIN_RGB: [number, number, number] = [0x1f, 0x77, 0xb4];
const MEPROP_RGB: [number, number, number] = [0xd6, 0x27, 0x28];

async function status(s: DemoSession): Promise<DemoStatus> {
  return s.page.evaluate(() => (globalThis as unknown as { mepropDemo: DemoStatus }).mepropDemo);
}

describe('demo page in headless Chromium', () => {
  test('MNIST view: one epoch plain vs meProp on webgl, both learn, charts drawn', async () => {
    const s = await openDemo('backend=webgl&hidden=128&k=32&mode=unified&train=1000&epochs=1&autostart=1');
    try {
      await waitForRun(s, 'mnist', 300_000);
      const st = (await status(s)).mnist;
      expect(st.error).toBeUndefined();
      expect(st).toMatchObject({
        state: 'done',
        backend: 'webgl',
        k: 32,
        mode: 'unified',
        epochsDone: 1,
        steps: Math.ceil(1000 / 32),
      });
      // One epoch of 1,000 digits (32 steps): both well above chance (10%) on the 1,996 test digits; meProp
      // learns more slowly per step (see the root README), hence the lower bar.
      expect(st.plainAccuracy).toBeGreaterThan(0.5);
      expect(st.mePropAccuracy).toBeGreaterThan(0.25);
      expect(st.plainMsPerStep).toBeGreaterThan(0);
      expect(st.mePropMsPerStep).toBeGreaterThan(0);
      expect(st.chartPoints).toBe(st.steps);
      for (const chart of ['loss-chart', 'acc-chart']) {
        expect(await countPixels(s.page, chart, PLAIN_RGB)).toBeGreaterThan(100);
        expect(await countPixels(s.page, chart, MEPROP_RGB)).toBeGreaterThan(100);
      }
      expect(await s.page.textContent('#stats')).toMatch(/ms \/ step/);
      expect(await s.page.textContent('#backend-info')).toMatch(/^webgl on /);
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  test('flows view: IAF fitted by reverse KL lowers its loss and draws density and samples', async () => {
    const s = await openDemo('view=flows&backend=wasm&flow=iaf&iterations=100&autostart=1');
    try {
      await waitForRun(s, 'density', 300_000);
      const st = (await status(s)).density;
      expect(st.error).toBeUndefined();
      expect(st).toMatchObject({ state: 'done', flow: 'iaf', iterations: 100 });
      expect(st.lastLoss).toBeLessThan(st.firstLoss - 0.5);
      expect(await countPixels(s.page, 'flow-canvas', MEPROP_RGB)).toBeGreaterThan(0); // the samples (alpha-blended red)
      expect(s.errors).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
