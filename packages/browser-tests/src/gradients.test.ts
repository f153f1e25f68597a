// Inside headless Chromium, per backend: meProp's gradients equal the cpu reference (every mode, all
// transposes, the autodiff, eager and fused/Dense paths), nothing leaks, and mePropify + fit trains.
import type { Page } from 'playwright-core';
import type { ConvReport, FitReport, GradientReport, OptimizerReport } from './page/check_result';
import { browserBackends, callChecks, ChecksPageSession } from './checks_page_session';

let session: ChecksPageSession;
beforeAll(async () => {
  session = await ChecksPageSession.start();
});
afterAll(async () => {
  await session?.close();
});

// 2 shapes x 4 transposes x (3 exact-k modes + 2 modes x 3 APIs) x (da, db), plus 6 random steps x 2.
const EXPECTED_CHECKS = 2 * 4 * (3 + 2 * 3) * 2 + 6 * 2;

describe.each(browserBackends())('in Chromium on %s', (backend) => {
  let page: Page;
  let errors: string[];
  let grads: GradientReport;
  let fit: FitReport;
  let optimizers: OptimizerReport;
  let conv: ConvReport;

  beforeAll(async () => {
    ({ page, errors } = await session.open());
    const info = await callChecks(page, 'backendInfo');
    console.log(`[${backend}] webgl renderer: ${info.webglRenderer}; webgpu adapter: ${info.webgpuAdapter}; tfjs ${info.tfjs}`);
    grads = await callChecks(page, 'runGradientChecks', backend);
    fit = await callChecks(page, 'runFitCheck', backend);
    optimizers = await callChecks(page, 'runOptimizerCheck', backend);
    conv = await callChecks(page, 'runConvChecks', backend);
    const worstConv = Math.max(...conv.checks.map((c) => c.maxRelDiff));
    console.log(
      `[${backend}] ${conv.checks.length} conv gradient checks, worst relative difference ${worstConv.toExponential(2)}`,
    );
    const worstStep = Math.max(...optimizers.checks.map((c) => c.maxRelDiff));
    console.log(`[${backend}] lazy optimizers vs cpu after 3 steps: worst relative difference ${worstStep.toExponential(2)}`);
    const worst = Math.max(...grads.checks.map((c) => c.maxRelDiff));
    console.log(
      `[${backend}] ${grads.checks.length} gradient checks, worst relative difference ${worst.toExponential(2)}; fit losses ${fit.losses.map((l) => l.toFixed(3)).join(' ')}`,
    );
  });
  afterAll(async () => {
    await page?.close();
  });

  test('the page ran on that backend without errors', () => {
    expect(grads.backend).toBe(backend);
    expect(fit.backend).toBe(backend);
    expect(optimizers.backend).toBe(backend);
    expect(conv.backend).toBe(backend);
    expect(errors).toEqual([]);
  });

  test('meProp gradients match the cpu reference (exact for k >= width, brute-force top-k below)', () => {
    expect(grads.checks).toHaveLength(EXPECTED_CHECKS);
    const off = grads.checks.filter((c) => !(c.maxRelDiff <= c.tol)).map((c) => `${c.name}: ${c.maxRelDiff} > ${c.tol}`);
    expect(off).toEqual([]);
  });

  test('meProp conv gradients (mePropConv2d: per-position, unified, per-sample, exact; random equals cpu) match plain gradients of the masked dy on cpu', () => {
    // 2 layers x (per-example, unified, per-sample, k >= channels, random vs cpu) x (dx, dW)
    expect(conv.checks).toHaveLength(20);
    const off = conv.checks.filter((c) => !(c.maxRelDiff <= c.tol)).map((c) => `${c.name}: ${c.maxRelDiff} > ${c.tol}`);
    expect(off).toEqual([]);
    const leaked = conv.leaks.filter((l) => l.tensorsAfter !== l.tensorsBefore).map((l) => l.name);
    expect(leaked).toEqual([]);
  });

  test('random mode keeps exactly k = 4 entries of a one-example dy', () => {
    expect(grads.randomKeptCounts).toEqual([4, 4, 4, 4, 4, 4]);
  });

  test('no gradient computation leaks a tensor', () => {
    const leaked = grads.leaks
      .filter((l) => l.tensorsAfter !== l.tensorsBefore)
      .map((l) => `${l.name}: ${l.tensorsBefore} -> ${l.tensorsAfter}`);
    expect(grads.leaks.length).toBeGreaterThan(0);
    expect(leaked).toEqual([]);
  });

  test('mePropify + fit with sparseAdam lowers the loss, with a stable tensor count across fits', () => {
    expect(fit.converted).toHaveLength(2); // the two hidden Dense layers; the output layer stays exact
    expect(fit.losses).toHaveLength(6);
    expect(fit.losses.every(Number.isFinite)).toBe(true);
    expect(fit.losses[5]).toBeLessThan(0.5 * fit.losses[0]);
    expect(fit.tensorsAfterLastFit).toBe(fit.tensorsAfterFirstFit);
  });

  test('the lazy optimizers (sparse update kernels on webgl and webgpu) match the same steps on cpu', () => {
    expect(optimizers.sparseKernel).toBe(backend === 'webgl' || backend === 'webgpu');
    expect(optimizers.checks).toHaveLength(2 * 6); // 2 optimizers x (3 kernels + 3 biases)
    const off = optimizers.checks.filter((c) => !(c.maxRelDiff <= c.tol)).map((c) => `${c.name}: ${c.maxRelDiff} > ${c.tol}`);
    expect(off).toEqual([]);
    expect(optimizers.tensorsGrown).toEqual({ sparseAdam: 0, sparseSgd: 0 });
  });
});
