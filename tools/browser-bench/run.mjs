#!/usr/bin/env node
/* global window */
// Runs meProp's kernel benchmarks and correctness checks on tfjs's webgl and webgpu backends inside headless
// Chromium: bundles page.ts with esbuild straight from the TypeScript sources, serves it on 127.0.0.1, drives
// the system Chromium with playwright-core (no browser is downloaded), prints a table and writes JSON.
//
//   node tools/browser-bench/run.mjs [kernels|check|optimizers|step|all|profile] [--backends webgl,webgpu] [--reps 20]
//        [--warmup 3] [--shapes 128x1024x1024k32,32x500x500k20] [--modes per-example,unified,random]
//        [--paths kernels,composite] [--out browser-bench.json] [--chromium /usr/bin/chromium]
//
// kernels: backward of x @ W for a fixed dy, plain tfjs vs meProp per mode (the bench's `kernels` experiment);
//          --paths composite also times meProp with its GPU kernels unregistered (the tfjs-op fallback).
// check:   meProp gradients and the lazy optimizers on each backend against cpu in the same page (exit 1 on a mismatch).
// optimizers: only the lazy optimizers' part of check (their dense and sparse update kernels).
// profile: each meProp kernel alone, and the MNIST step split into gradients and optimizer (diagnostics).
// step:    one training step of the MNIST MLP 784-500-500-10, batch 32, k=20: plain Adam vs unified + sparseAdam.
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

function option(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function parseShape(s) {
  const m = /^(\d+)x(\d+)x(\d+)k(\d+)$/.exec(s);
  if (m === null) throw new Error(`--shapes: expected entries like 128x1024x1024k32 (batch x in x out, k), got '${s}'`);
  const [batch, inDim, outDim, k] = m.slice(1).map(Number);
  return { group: 'browser', batch, inDim, outDim, k };
}

const command = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'kernels';
if (!['kernels', 'check', 'optimizers', 'step', 'all', 'profile'].includes(command)) {
  throw new Error(`command must be one of kernels, check, optimizers, step, all, profile; got '${command}'`);
}
const backends = option('backends', 'webgl,webgpu').split(',');
const reps = Number(option('reps', '20'));
const warmup = Number(option('warmup', '3'));
const shapes = option('shapes', '128x1024x1024k32,32x500x500k20').split(',').map(parseShape);
const modes = option('modes', 'per-example,unified,random').split(',');
const paths = option('paths', 'kernels').split(',');
const outFile = option('out', '');
const executablePath = option('chromium', '/usr/bin/chromium');

async function bundle() {
  const result = await build({
    entryPoints: [resolve(here, 'page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'warning',
    // The packages' `sideEffects` lists name their built files (dist/), not the sources bundled here: without
    // this, esbuild would drop the side-effect imports that register meProp's kernels.
    ignoreAnnotations: true,
    // Only @meprop/layers' folderIO imports these, lazily; the bench never calls it.
    external: ['fs/promises', 'path'],
    alias: {
      '@meprop/core': resolve(root, 'packages/core/src/index.ts'),
      '@meprop/layers': resolve(root, 'packages/layers/src/index.ts'),
      perf_hooks: resolve(here, 'perf_hooks_shim.ts'),
    },
  });
  return result.outputFiles[0].text;
}

function serve(script) {
  const html = '<!doctype html><meta charset="utf-8"><title>meProp browser bench</title><script src="page.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function fmt(x, d = 2) {
  return x === null || x === undefined ? '-' : x.toFixed(d);
}

async function main() {
  const t0 = Date.now();
  const script = await bundle();
  const server = await serve(script);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu'],
  });
  const results = {
    date: new Date().toISOString(),
    command: process.argv.slice(2).join(' '),
    chromium: browser.version(),
    runs: [],
  };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') console.error(`[page ${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.checkGradients === 'function');
    let failed = 0;
    for (const backend of backends) {
      if (command === 'check' || command === 'all') {
        const r = await page.evaluate((req) => window.checkGradients(req), { backend });
        results.runs.push({ kind: 'check', ...r });
        const bad = r.results.filter((c) => !c.ok);
        failed += bad.length;
        const worst = Math.max(...r.results.map((c) => c.maxErr));
        console.log(
          `\n${backend} (${r.renderer}): gradient check against the cpu reference: ${r.results.length - bad.length}/${r.results.length} ok, max |error| ${worst.toExponential(2)}`,
        );
        for (const c of bad) console.log(`  FAIL ${JSON.stringify(c)}`);
      }
      if (command === 'check' || command === 'all' || command === 'optimizers') {
        const o = await page.evaluate((req) => window.checkLazyOptimizers(req), { backend });
        results.runs.push({ kind: 'check-optimizers', ...o });
        for (const c of o.results) {
          if (!c.ok) failed++;
          console.log(
            `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.optimizer} (${c.path} path): max |error| vs cpu ${c.maxErr.toExponential(2)}, zero-gradient columns untouched: ${c.untouched}, read-backs ${c.readBacks}, epsilon cpu/backend ${c.epsilon}`,
          );
        }
        const sp = await page.evaluate((req) => window.checkSparseLazy(req), { backend });
        results.runs.push({ kind: 'check-sparse-update', ...sp });
        const spBad = sp.results.filter((c) => !c.ok);
        failed += spBad.length;
        console.log(
          `  sparse lazy update from slices vs the cpu loops: ${sp.results.length - spBad.length}/${sp.results.length} ok, max |error| ${Math.max(...sp.results.map((c) => c.maxErr)).toExponential(2)}`,
        );
        for (const c of spBad) console.log(`  FAIL ${JSON.stringify(c)}`);
      }
      if (command === 'kernels' || command === 'all') {
        for (const path of paths) {
          const r = await page.evaluate((req) => window.benchKernels(req), {
            backend,
            path,
            shapes,
            modes,
            warmup,
            reps,
            seed: 1,
          });
          results.runs.push({ kind: 'kernels', ...r });
          console.log(
            `\n${r.backend} (${r.renderer}), meProp ${path}: backward of x @ W for a fixed dy, medians of ${reps} interleaved reps`,
          );
          console.log('| shape | k | mode | plain ms | meProp ms | speed-up | read-backs |');
          console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
          for (const c of r.cases) {
            console.log(
              `| ${c.batch}×${c.inDim} @ ${c.inDim}×${c.outDim} | ${c.k} | ${c.mode} | ${fmt(c.plainMs)} | ${fmt(c.mePropMs)} | ${fmt(c.speedup)}× | ${c.readBacks} |`,
            );
          }
        }
      }
      if (command === 'profile') {
        for (const s of shapes) {
          const r = await page.evaluate((q) => window.profileKernels(q), {
            backend,
            M: s.batch,
            K: s.inDim,
            N: s.outDim,
            k: s.k,
            reps,
          });
          results.runs.push({ kind: 'profile', ...r });
          console.log(`\n${backend} ${s.batch}x${s.inDim}x${s.outDim} k=${s.k}: median ms per kernel`);
          for (const [name, ms] of Object.entries(r))
            if (typeof ms === 'number') console.log(`  ${name.padEnd(18)} ${ms.toFixed(2)}`);
          if (backend === 'webgl') {
            const q = { M: s.batch, K: s.inDim, N: s.outDim, k: s.k, reps: Math.max(1, Math.min(reps, 3)), modes };
            const pr = await page.evaluate((q) => window.profileBackwardByProgram(q), q);
            results.runs.push({ kind: 'profile-backward-programs', shape: s, variants: pr });
            for (const v of pr) {
              console.log(
                `\nwebgl ${s.batch}x${s.inDim}x${s.outDim} k=${s.k}, backward ${v.variant}, each program waited for: ${v.totalMs.toFixed(1)} ms, ${v.programs} programs`,
              );
              for (const [name, n, ms] of v.byProgram.slice(0, 16))
                console.log(`  ${name.padEnd(44)} ${String(n).padStart(4)}x ${ms.toFixed(2).padStart(8)} ms`);
            }
          }
        }
      }
      if (command === 'profile') {
        if (backend === 'webgl') {
          const pr = await page.evaluate((q) => window.profileStepByProgram(q), {
            batchSize: 32,
            k: 20,
            hidden: [500, 500],
            steps: Math.max(1, Math.min(reps, 3)),
          });
          results.runs.push({ kind: 'profile-step-programs', ...pr });
          for (const v of pr) {
            console.log(
              `\nwebgl: ${v.variant}, one step, each program waited for: ${v.totalMs.toFixed(1)} ms, ${v.programs} programs run, ${v.compiled} compiled after the first step`,
            );
            for (const [name, n, ms] of v.byProgram.slice(0, 40))
              console.log(`  ${name.padEnd(44)} ${String(n).padStart(4)}x ${ms.toFixed(2).padStart(8)} ms`);
          }
        }
        const o = await page.evaluate((q) => window.profileOptimizer(q), { backend, rows: 784, cols: 500, k: 20, warmup, reps });
        results.runs.push({ kind: 'profile-optimizer', ...o });
        console.log(`\n${backend}: one Adam update of a 784x500 weight, k=20 columns with gradient, median ms`);
        for (const s of o.steps) console.log(`  ${s.variant.padEnd(32)} ${s.ms.toFixed(2)}`);
        const r = await page.evaluate((q) => window.profileStep(q), {
          backend,
          batchSize: 32,
          k: 20,
          hidden: [500, 500],
          warmup,
          reps,
        });
        results.runs.push({ kind: 'profile-step', ...r });
        console.log(`\n${backend}: MNIST MLP step, batch 32, k=20, median ms`);
        for (const s of r.steps) console.log(`  ${s.variant.padEnd(30)} ${s.ms.toFixed(2)}`);
      }
      if (command === 'step' || command === 'all') {
        for (const path of paths) {
          const req = { backend, path, batchSize: 32, k: 20, hidden: [500, 500], warmup, reps };
          const r = await page.evaluate((q) => window.benchStep(q), req);
          results.runs.push({ kind: 'step', ...r });
          console.log(`\n${r.backend} (${r.renderer}), meProp ${path}: MNIST MLP 784-500-500-10 training step, batch 32, k=20`);
          console.log(
            `plain Adam ${fmt(r.plainMs)} ms, meProp unified + sparseAdam ${fmt(r.mePropMs)} ms: ${fmt(r.speedup)}× (read-backs ${r.readBacks}, leaked tensors ${r.leaked})`,
          );
        }
      }
    }
    if (failed > 0) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
  if (outFile !== '') {
    mkdirSync(dirname(resolve(outFile)), { recursive: true });
    writeFileSync(outFile, JSON.stringify(results, null, 2));
    console.log(`\nwrote ${outFile}`);
  }
  console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
