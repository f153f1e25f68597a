// Writes the README's screenshots of the demo (docs/figures/demo-mnist.png, demo-flows.png) and the demo's
// own figures for that run (demo-mnist.json: ms/step, accuracy, load average): one full epoch of the MNIST
// view on the chosen backend, and the flows view. `npm run screenshot -w @meprop/browser-tests -- webgl`
import { writeFileSync } from 'fs';
import { loadavg } from 'os';
import { join } from 'path';
import type { DemoStatus } from '../../demo/src/demo_status';
import { PKG_DIR } from './bundle';
import { openDemo, waitForRun } from './demo_session';

const FIGURES = join(PKG_DIR, '..', '..', 'docs', 'figures');

async function main(): Promise<void> {
  const backend = process.argv[2] ?? 'webgl';
  const query = `backend=${backend}&hidden=500&k=20&mode=unified&train=8004&epochs=1&autostart=1`;
  const load = loadavg()[0];
  if (process.argv[3] === 'flows-only') return flowsShot(backend);
  const mnist = await openDemo(query);
  try {
    await waitForRun(mnist, 'mnist', 1_800_000);
    await mnist.page.screenshot({ path: join(FIGURES, 'demo-mnist.png'), fullPage: true });
    const status = await mnist.page.evaluate(() => (globalThis as unknown as { mepropDemo: DemoStatus }).mepropDemo.mnist);
    const backendInfo = await mnist.page.textContent('#backend-info');
    const record = {
      date: new Date().toISOString(),
      query,
      backendInfo,
      loadAverageAtStart: load,
      loadAverageAtEnd: loadavg()[0],
      status,
    };
    writeFileSync(join(FIGURES, 'demo-mnist.json'), `${JSON.stringify(record, null, 2)}\n`);
    console.log(JSON.stringify(record, null, 2));
  } finally {
    await mnist.close();
  }
  await flowsShot(backend);
}

async function flowsShot(backend: string): Promise<void> {
  const flows = await openDemo(`view=flows&backend=${backend}&flow=maf&iterations=600&autostart=1`, { width: 1040, height: 560 });
  try {
    await waitForRun(flows, 'density', 1_800_000);
    await flows.page.screenshot({ path: join(FIGURES, 'demo-flows.png'), fullPage: true });
  } finally {
    await flows.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
